from django import template

from contacts import phones

register = template.Library()


@register.filter
def phone_display(number) -> str:
    """A phone number as a UK reader dials it: "020 7004 1555"."""
    return phones.display(number)
