"""Turn a rendered page's form back into POST data, as a browser would submit it unchanged.

Read from the HTML the person sees, never from the form objects in the view's context: a field
the template forgets to render must be missing here too, as it is in a browser.
"""

from __future__ import annotations

from html.parser import HTMLParser


class _FormParser(HTMLParser):
    """Collects the successful controls of the first form whose id matches (or of every form)."""

    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.forms: list[dict[str, list[str]]] = []
        self.data: dict[str, list[str]] = {}
        self.select: tuple[str, bool] | None = None  # (name, multiple)
        self.options: list[tuple[str, bool]] = []
        self.option_value: str | None = None
        self.option_text = ""
        self.option_selected = False
        self.textarea: str | None = None
        self.text = ""

    def add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = self.form_id is None or a.get("id") == self.form_id
            if self.inside:
                self.data = {}
                self.forms.append(self.data)
            return
        if not self.inside or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            self.add_input(name, a)
        elif tag == "select" and name:
            self.select, self.options = (name, "multiple" in a), []
        elif tag == "option" and self.select:
            self.option_value, self.option_selected, self.option_text = a.get("value"), "selected" in a, ""
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def add_input(self, name: str, a: dict) -> None:
        """An <input> as a browser submits it: buttons and files never; boxes only when checked."""
        kind = (a.get("type") or "text").lower()
        if kind in ("submit", "button", "image", "reset", "file"):
            return
        if kind in ("checkbox", "radio"):
            if "checked" in a:
                self.add(name, a.get("value", "on"))
            return
        self.add(name, a.get("value", ""))

    def handle_data(self, data):
        if self.textarea is not None:
            self.text += data
        if self.option_value is None and self.select and self.options is not None:
            self.option_text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "option" and self.select:
            value = self.option_value if self.option_value is not None else self.option_text.strip()
            self.options.append((value, self.option_selected))
            self.option_value = None
        elif tag == "select" and self.select:
            name, multiple = self.select
            chosen = [value for value, selected in self.options if selected]
            if not chosen and not multiple and self.options:
                chosen = [self.options[0][0]]  # a browser sends the first option
            for value in chosen if multiple else chosen[-1:]:
                self.add(name, value)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops one newline straight after <textarea>.
            self.add(self.textarea, self.text[1:] if self.text.startswith("\n") else self.text)
            self.textarea = None


def page_form_data(html: str, form_id: str | None = None, *, containing: str | None = None) -> dict:
    """POST data that re-submits a form on `html` unchanged: the form with id `form_id`, or the first
    form with a control named `containing` (e.g. "import_file_name"), or the first form."""
    parser = _FormParser(form_id)
    parser.feed(html)
    forms = [f for f in parser.forms if containing is None or containing in f]
    assert forms, f"No form {form_id or containing or ''} on the page."
    return {name: values if len(values) > 1 else values[0] for name, values in forms[0].items()}


def admin_change_data(response) -> dict:
    """POST data that re-submits an admin change page unchanged, read from its HTML."""
    html = response.content.decode()
    opts = response.context["opts"]
    data = page_form_data(html, f"{opts.model_name}_form")
    data.pop("csrfmiddlewaretoken", None)
    return data
