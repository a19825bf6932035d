from django.contrib import admin
from django.db import models
from django.forms.models import BaseInlineFormSet
from phonenumber_field.modelfields import PhoneNumberField

from common.admin import AnnouncedAdmin, HistoryAdmin
from contacts.resources import PHONE_HELP
from stats import selectors
from stats.admin.fields import (
    FigureValueField,
    LabelledSplitDateTime,
    RequiredAutocompleteSelect,
    UKSplitDateTimeField,
)
from stats.admin.forms import FigureForm, FigureInlineForm, StatementInlineForm
from stats.admin.imports import (
    FigureImportExportMixin,
    MetricImportExportMixin,
    ProgrammeImportExportMixin,
    ReleaseImportExportMixin,
    StatementImportExportMixin,
)
from stats.admin.workflow import (
    DraftOnlyInlineMixin,
    DraftRowAdminMixin,
    ReadOnlyRecordAdmin,
    ReleaseWorkflowMixin,
)
from stats.models import (
    Correction,
    Explanation,
    Figure,
    Metric,
    Programme,
    Release,
    ReleaseDateChange,
    Statement,
)
from stats.publishing import public, workflow
from stats.wording import formatting, ukclock


class MetricInline(admin.TabularInline):
    model = Metric
    extra = 0
    fields = ("name", "slug", "kind", "unit", "display_order")
    prepopulated_fields = {"slug": ("name",)}
    show_change_link = True


class CatalogueAdmin(AnnouncedAdmin):
    """Programmes and measures are shown on every public page that names them."""

    def announce(self) -> None:
        public.catalogue_changed()


@admin.register(Programme)
class ProgrammeAdmin(CatalogueAdmin, ProgrammeImportExportMixin, HistoryAdmin):
    list_display = ("name", "short_name", "slug", "display_order", "is_active")
    list_editable = ("display_order", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "short_name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MetricInline]


@admin.register(Metric)
class MetricAdmin(CatalogueAdmin, MetricImportExportMixin, HistoryAdmin):
    list_display = ("name", "slug", "programme", "kind", "unit", "display_order")
    list_filter = ("kind", "programme")
    list_select_related = ("programme",)
    search_fields = ("name", "slug", "definition")
    prepopulated_fields = {"slug": ("name",)}


# Figures read and typed as people write them: 22,725,621 (not 22725621.0000), and 22,810,000 accepted.
FIGURE_FIELDS = {models.DecimalField: {"form_class": FigureValueField}}


class FigureInline(DraftOnlyInlineMixin, admin.TabularInline):
    model = Figure
    form = FigureInlineForm
    formfield_overrides = FIGURE_FIELDS
    extra = 0
    fields = ("metric", "value", "qualifier", "as_of", "note", "is_confirmed", "previous_value", "change")
    readonly_fields = ("display_value", "previous_value", "change")
    autocomplete_fields = ("metric",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("metric__programme")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if self._draft(obj):
            return [f for f in fields if f != "display_value"]
        # Read-only once out of draft: show figures as the public reads them (306,774,292).
        return [("display_value" if f == "value" else f) for f in fields if f != "display_value"]

    @admin.display(description="value")
    def display_value(self, figure):
        return figure.display

    def get_formset(self, request, obj=None, **kwargs):
        # Inline instances are made per request: keep the previous release's values here.
        _, self.previous_values = (
            selectors.previous_figure_values(obj, among=selectors.comparison_releases())
            if obj
            else (None, {})
        )
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="previous release")
    def previous_value(self, figure):
        value = self.previous_values.get(figure.metric_id) if figure.pk else None
        return formatting.exact(value, kind=figure.kind) if value is not None else "—"

    @admin.display(description="change")
    def change(self, figure):
        if not figure.pk:
            return "—"
        previous = self.previous_values.get(figure.metric_id)
        return formatting.change(figure.value, previous, kind=figure.kind) or "—"


class StatementFormSet(BaseInlineFormSet):
    def use_pending_figures(self, figure_formset):
        """Check placeholders against the figures as submitted, not as last saved."""
        if figure_formset is None or not self.is_bound or not figure_formset.is_valid():
            return
        figures = {}
        for form in figure_formset.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE") or not data.get("metric"):
                continue
            metric = data["metric"]
            figures[metric.slug] = formatting.FigureValue(
                value=data["value"],
                kind=metric.kind,
                qualifier=data.get("qualifier") or "",
                as_of=data.get("as_of"),
            )
        for form in self.forms:
            form.instance.pending_figures = figures


class StatementInline(DraftOnlyInlineMixin, admin.TabularInline):
    model = Statement
    form = StatementInlineForm
    formset = StatementFormSet
    extra = 0
    fields = ("programme", "order", "text")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("programme")


@admin.register(Release)
class ReleaseAdmin(ReleaseWorkflowMixin, ReleaseImportExportMixin, HistoryAdmin):
    list_display = ("period", "state", "publish_time", "last_edited_by", "version")
    list_display_links = ("period",)
    formfield_overrides = {
        models.DateTimeField: {"form_class": UKSplitDateTimeField, "widget": LabelledSplitDateTime},
        PhoneNumberField: {
            "error_messages": {"invalid": f"Enter a phone number that can be dialled: {PHONE_HELP}."}
        },
    }
    list_filter = ("status", "is_synthetic")
    list_select_related = ("last_edited_by",)
    search_fields = ("title", "summary", "statements__text")
    date_hierarchy = "period_date"
    readonly_fields = ("version", "last_edited_by", "approved_by", "approved_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("period_date", "title", "summary", "lead_contact")}),
        (
            "Lead statistician and status",
            {
                "description": "Named on the release page, its PDF and the API, as the Code of Practice for "
                "Statistics asks. The status is set by publishers.",
                "fields": ("statistician_name", "statistician_email", "statistician_phone", "designation"),
            },
        ),
        (
            "Publishing",
            {"fields": ("status", "publish_at", "publish_time_uk", "date_confirmed", "status_reason")},
        ),
        ("Background notes", {"classes": ("collapse",), "fields": ("notes",)}),
        (
            "Record",
            {
                "classes": ("collapse",),
                "fields": ("version", "last_edited_by", "approved_by", "approved_at", "updated_at"),
            },
        ),
    )
    inlines = [FigureInline, StatementInline]

    def get_readonly_fields(self, request, obj=None):
        """The status is a publisher's to set: everyone else sees it, read-only."""
        fields = list(super().get_readonly_fields(request, obj))
        if not workflow.allowed(request.user, "designate", obj or Release()):  # a new release is a draft
            fields.append("designation")
        return fields

    def save_model(self, request, obj, form, change):
        if "designation" in form.cleaned_data:  # the form lets only publishers send it: make sure
            workflow.require(request.user, "designate", obj)
        super().save_model(request, obj, form, change)

    @admin.display(description="release", ordering="period_date")
    def period(self, release):
        return f"w/c {release.period_label}"

    @admin.display(description="status", ordering="status")
    def state(self, release):
        return release.status_label

    @admin.display(description="publish time (UK)", ordering="publish_at")
    def publish_time(self, release):
        return ukclock.uk_label(release.publish_at, weekday=False) or "—"

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        figures = next((f for f in formsets if f.model is Figure), None)
        for formset in formsets:
            if isinstance(formset, StatementFormSet):
                formset.use_pending_figures(figures)
        return formsets, inline_instances


@admin.register(Figure)
class FigureAdmin(DraftRowAdminMixin, FigureImportExportMixin, HistoryAdmin):
    form = FigureForm
    formfield_overrides = FIGURE_FIELDS
    list_display = ("metric", "release", "display_value", "qualifier", "as_of", "is_confirmed")
    list_filter = ("kind", "metric__programme", "release__status")
    list_select_related = ("metric", "release")
    search_fields = ("metric__name", "metric__slug", "note")
    autocomplete_fields = ("metric",)
    date_hierarchy = "release__period_date"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "metric":
            kwargs["widget"] = RequiredAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="value", ordering="value")
    def display_value(self, figure):
        return figure.display


@admin.register(Statement)
class StatementAdmin(DraftRowAdminMixin, StatementImportExportMixin, HistoryAdmin):
    list_display = ("text", "programme", "release", "order")
    list_filter = ("programme", "release__status")
    list_select_related = ("programme", "release")
    search_fields = ("text",)


@admin.register(Correction)
class CorrectionAdmin(ReadOnlyRecordAdmin):
    list_display = ("subject", "release", "old_value", "new_value", "created_at", "created_by")
    list_select_related = ("release", "created_by")
    search_fields = ("subject", "reason")
    date_hierarchy = "created_at"


@admin.register(Explanation)
class ExplanationAdmin(ReadOnlyRecordAdmin):
    """Why figures moved since the previous release, written on drafts ("Explain a fall or jump",
    or an import's explanation) and published beside them; corrections are separate."""

    list_display = ("subject", "release", "old_value", "new_value", "reason", "created_at", "created_by")
    list_select_related = ("release", "created_by")
    search_fields = ("subject", "reason")
    date_hierarchy = "created_at"


@admin.register(ReleaseDateChange)
class ReleaseDateChangeAdmin(ReadOnlyRecordAdmin):
    list_display = ("release", "old_publish_at", "new_publish_at", "reason", "changed_at", "changed_by")
    list_select_related = ("release", "changed_by")
    date_hierarchy = "changed_at"


from stats.admin import prerelease as _prerelease  # noqa: E402, F401  (registers the ledger)
