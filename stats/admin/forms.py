"""The admin's forms for releases: the version lock on every page that edits a release or its rows,
figures typed as people write them, and one confirmation form per workflow step."""

from __future__ import annotations

from django import forms
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.db.models import Case, When
from django.utils.text import Truncator

from stats.admin.fields import FigureValueField, UKSplitDateTimeField
from stats.models import Figure, Release, Statement
from stats.publishing.services import stale_message

# --- optimistic locking: the release form, and the figure and statement pages --------------------


class VersionInput(forms.HiddenInput):
    """The hidden version: the admin prints a label for each field of a fieldset, and this one's
    points at nothing a person sees, so it names no control (HTML allows no label for a hidden one)."""

    def id_for_label(self, id_):
        return ""


class ReleaseVersionForm(forms.ModelForm):
    """Carries the version of the release the editor opened; a save from a stale page is refused.

    The release's own form and the figure and statement pages lock on the same number, which
    every write to a release or its rows moves on (`services.record_edit`, `services.claim_version`).
    """

    expected_version = forms.IntegerField(widget=VersionInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        if isinstance(instance, Release):
            self.locked_release_id = instance.pk
        else:
            self.locked_release_id = instance.release_id if instance.pk else None
        if self.locked_release_id is not None:
            self.fields["expected_version"].initial = (
                instance.version if isinstance(instance, Release) else instance.release.version
            )

    def clean(self):
        cleaned = super().clean()
        if self.locked_release_id is not None:
            current = Release.objects.get(pk=self.locked_release_id)
            seen = cleaned.get("expected_version")
            if current.version != seen:
                raise ValidationError(
                    stale_message(current, seen)
                    + " What you typed is still in the form below, so you can copy it first.",
                    code="stale",
                )
        return cleaned


VALUE_FIELDS = {"value", "qualifier", "as_of"}


class FigureInlineForm(forms.ModelForm):
    """Editing a copied figure's value counts as confirming it."""

    @property
    def row_label(self) -> str:
        """Names the row's boxes for a screen reader: "Value for Prescription messages transmitted"."""
        return self.instance.metric.name if self.instance.metric_id else "the new figure"

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and VALUE_FIELDS & set(self.changed_data):
            cleaned["is_confirmed"] = True
        return cleaned


class StatementInlineForm(forms.ModelForm):
    """A bullet in the release's table of bullets."""

    @property
    def row_label(self) -> str:
        """Names the row's boxes for a screen reader: "Text for Choose and Book bullet “Over 22 million…”"."""
        statement = self.instance
        if not statement.pk:
            return "the new bullet"
        return f"{statement.programme} bullet “{Truncator(statement.text).words(5)}”"


class FigureForm(ReleaseVersionForm):
    """A figure on its own page: locked on its release's version; a new value confirms it."""

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and VALUE_FIELDS & set(self.changed_data):
            cleaned["is_confirmed"] = True
        return cleaned


# --- confirmation forms for each transition -----------------------------------------------


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)


class AcknowledgeForm(VersionForm):
    acknowledge = forms.BooleanField(
        label="I have checked these changes and they are right",
        required=False,
        help_text="Needed when the checks list warnings.",
    )


def publish_time_field(**kwargs) -> forms.SplitDateTimeField:
    return UKSplitDateTimeField(
        label="Publish time (UK time)",
        help_text="UK time: GMT in winter, BST in summer. The release stays hidden until then.",
        **kwargs,
    )


class ApproveForm(AcknowledgeForm):
    publish_at = publish_time_field()
    date_change_reason = forms.CharField(
        label="Reason for moving the announced date",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only if you change the publish time; shown publicly on the release calendar.",
    )


class PublishNowForm(AcknowledgeForm):
    reason = forms.CharField(
        label="Reason for publishing before the announced time",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed when the release was announced for later; shown on the release calendar.",
    )


class ReasonForm(VersionForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown to the public.")


class OptionalReasonForm(VersionForm):
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="For the record (optional)."
    )


class ChangeDateForm(VersionForm):
    publish_at = publish_time_field()
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the date moves; shown publicly on the release calendar. Needed for any move.",
    )
    confirm = forms.BooleanField(
        label="Confirm this date",
        required=False,
        help_text="Publishers only: the calendar then says “confirmed”.",
    )


class StartNextForm(forms.Form):
    period_date = forms.DateField(
        label="Period of the new release",
        required=False,
        widget=widgets.AdminDateWidget,
        help_text="Leave empty for the period after this one (usually a week later).",
    )


class ConfirmFiguresForm(VersionForm):
    """Tick the copied figures that are still right, grouped by programme, or confirm them all at once."""

    figures = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Figures still right this week",
        help_text="Tick the figures you have checked, or press “Confirm all” below.",
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.confirm_all = data is not None and ALL_BUTTON in data
        self.unconfirmed: dict[int, Figure] = {}

    def set_figures(self, figures) -> None:
        """The release's figures not yet updated, as choices grouped under their programme."""
        self.unconfirmed = {f.pk: f for f in figures}
        groups: dict[str, list] = {}
        for figure in figures:
            label = f"{figure.metric.name}: {figure.display}"
            groups.setdefault(figure.metric.programme.name, []).append((figure.pk, label))
        self.fields["figures"].choices = list(groups.items())

    def clean_figures(self):
        if self.confirm_all:
            return list(self.unconfirmed.values())
        chosen = [self.unconfirmed[pk] for pk in self.cleaned_data["figures"]]
        if not chosen:
            raise ValidationError(f"Tick the figures that are still right, or press “{ALL_BUTTON_LABEL}”.")
        return chosen


ALL_BUTTON = "_confirm_all"
ALL_BUTTON_LABEL = "Confirm all figures not yet updated"


class FigureChoiceField(forms.ModelChoiceField):
    """A figure of the release, named with its programme and value."""

    def label_from_instance(self, figure):
        return f"{figure.metric.programme.label}: {figure.metric.name} ({figure.display})"


class ExplainForm(forms.Form):
    figure = FigureChoiceField(
        queryset=Figure.objects.none(),
        help_text="The figure that fell or jumped. Those the checks found are listed first, marked.",
    )
    reason = forms.CharField(
        label="Why it changed",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why, in plain English; published with the release beside the figure (an explanation, "
        "not a correction). Explaining a figure again replaces its explanation.",
    )

    def set_figures(self, figures, *, findings, explained: set[str]) -> None:
        """Offer the release's figures, those the checks found (falls, jumps) first and marked."""
        found = {f.metric_slug: f for f in findings if f.check in ("falls", "jumps") and f.metric_slug}
        field = self.fields["figure"]
        field.queryset = figures.order_by(
            Case(When(metric__slug__in=list(found), then=0), default=1), *figures.query.order_by
        )

        def label(figure) -> str:
            text = f"{figure.metric.programme.label}: {figure.metric.name} ({figure.display})"
            slug = figure.metric.slug
            if slug in found:
                what = "fell" if found[slug].check == "falls" else "changed by more than the threshold"
                text = f"{what.capitalize()}, {'explained' if slug in explained else 'to explain'} — {text}"
            elif slug in explained:
                text = f"Explained — {text}"
            return text

        field.label_from_instance = label


class CorrectFigureForm(forms.Form):
    figure = FigureChoiceField(queryset=Figure.objects.none())
    value = FigureValueField(
        max_digits=20, decimal_places=4, help_text="The right figure, exactly, e.g. 22,810,000."
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why it changed, in plain English. Shown on the release page and the revisions page.",
    )


class CorrectStatementForm(forms.Form):
    statement = forms.ModelChoiceField(queryset=Statement.objects.none())
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The corrected bullet, with {metric-slug} placeholders as before.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why it changed, in plain English. Shown on the release page and the revisions page.",
    )
