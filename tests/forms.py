"""Turn a rendered Django form or admin change page back into POST data, as a browser would."""

from django.forms import MultiWidget


def form_data(form) -> dict:
    data = {}
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        widget = field.widget
        if isinstance(widget, MultiWidget) or hasattr(widget, "widgets"):
            parts = widget.decompress(value) if not isinstance(value, list) else value
            for index, part in enumerate(parts):
                if part is not None:
                    data[f"{key}_{index}"] = str(part)
            continue
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(item) for item in value]
        else:
            data[key] = str(value)
    return data


def admin_change_data(response) -> dict:
    """POST data that re-submits an admin change page unchanged."""
    context = response.context
    data = form_data(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(form_data(formset.management_form))
        for form in formset.forms:
            data.update(form_data(form))
    return data
