from django import template

from stats.wording import ukclock

register = template.Library()


@register.filter
def uk_time(moment, style: str = ""):
    """A publish time in UK wall-clock time, labelled GMT or BST: "3 March 2010, 09:30 GMT"."""
    return ukclock.uk_label(moment, weekday=style == "weekday")


@register.filter
def machine_time(moment):
    """A `<time datetime>` value: "2010-03-03T09:30:00+00:00", never with microseconds."""
    return ukclock.machine_label(moment)
