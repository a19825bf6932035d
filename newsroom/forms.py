"""Forms for the site-wide pages."""

from django import forms

MAX_QUERY_LENGTH = 200


class SearchForm(forms.Form):
    """The search box: a NUL character is refused (Django's validator), anything else is searched."""

    q = forms.CharField(required=False, label="Search releases, measures, programmes and media contacts")

    def clean_q(self) -> str:
        """The words, one space apart, cut to MAX_QUERY_LENGTH characters."""
        return " ".join(self.cleaned_data["q"].split())[:MAX_QUERY_LENGTH]
