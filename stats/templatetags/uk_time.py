from django import template

from stats.wording import ukclock

register = template.Library()


@register.filter
def uk_time(moment, style: str = ""):
    """A publish time in UK wall-clock time, labelled GMT or BST: "3 March 2010, 09:30 GMT"."""
    return ukclock.uk_label(moment, weekday=style == "weekday")
