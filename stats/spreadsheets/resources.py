"""django-import-export resources: figures (export), metrics, programmes, releases and statements.

Each checks the whole file before it writes anything (`common.resources.CheckedResource`). The
figure resource's columns are the public dataset's; its import is a plain service
(`stats.spreadsheets.figure_import`), which uses its widgets to read the cells.
"""

from __future__ import annotations

from import_export.fields import Field

from common.cells import unescape_cell
from common.resources import (
    CheckedResource,
    ChoiceWidget,
    FlagWidget,
    OrderWidget,
    Problem,
    TextWidget,
    sheet_row,
    shown,
)
from stats.models import Figure, Metric, Programme, Qualifier, Release, Statement
from stats.outputs import downloads
from stats.publishing import public
from stats.spreadsheets.widgets import DateWidget, MetricWidget, NumberWidget, ProgrammeWidget, ReleaseWidget
from stats.wording import formatting
from stats.wording.parsing import parse_date


def needs_correction(release: Release) -> bool:
    """Whether changing this release's figures must go through a public correction."""
    return release.status == Release.Status.PUBLISHED or release.is_public


# -- Figures -------------------------------------------------------------------------------------

# The public download's columns without its link to the release page, so a download imports as it is.
FIGURE_COLUMNS = tuple(column for column in downloads.COLUMNS if column != "release_url")
QUALIFIER_ALIASES = {"exact": Qualifier.EXACT, "none": Qualifier.EXACT, "more than": Qualifier.MORE_THAN}


class FigureResource(CheckedResource):
    """Figures keyed by release period and metric slug; columns as in the public dataset."""

    period = Field(attribute="release", column_name="period", widget=ReleaseWidget())
    programme = Field(attribute="metric__programme__name", column_name="programme", readonly=True)
    metric_slug = Field(attribute="metric", column_name="metric_slug", widget=MetricWidget())
    metric_name = Field(attribute="metric__name", column_name="metric_name", readonly=True)
    kind = Field(attribute="metric__kind", column_name="kind", readonly=True)
    unit = Field(attribute="metric__unit", column_name="unit", readonly=True)
    value = Field(attribute="value", column_name="value", widget=NumberWidget())
    as_of = Field(attribute="as_of", column_name="as_of", widget=DateWidget("as_of"))
    qualifier = Field(
        attribute="qualifier",
        column_name="qualifier",
        widget=ChoiceWidget("qualifier", Qualifier.choices, aliases=QUALIFIER_ALIASES),
        saves_null_values=False,
    )
    note = Field(
        attribute="note",
        column_name="note",
        widget=TextWidget("note", max_length=300),
        saves_null_values=False,
    )

    required_columns = ("period", "metric_slug", "value")
    informational_columns = ("previous_value", "release_url")

    class Meta:
        model = Figure
        fields = FIGURE_COLUMNS
        export_order = FIGURE_COLUMNS
        import_id_fields = ("period", "metric_slug")
        name = "Figures (by period and metric slug)"

    def __init__(self, *, release: Release | None = None, **kwargs):
        super().__init__(**kwargs)
        self.release = release  # reading a file for one release: a row without a period is for it
        self.fields["value"].widget.kind_from = self.kind_of_row
        if release is not None:
            self.required_columns = ("metric_slug", "value")

    def kind_of_row(self, row) -> str:
        metric = self.fields["metric_slug"].widget.lookup().get(shown(row.get("metric_slug")).lower())
        return metric.kind if metric else formatting.TOTAL

    def release_of_row(self, row, **kwargs) -> Release:
        if self.release is not None and not shown(row.get("period")):
            return self.release
        return self.fields["period"].clean(row, **kwargs)

    def get_queryset(self):
        return Figure.objects.select_related("metric__programme", "release")


# -- Programmes, metrics, releases, statements -----------------------------------------------------


class ProgrammeResource(CheckedResource):
    slug = Field(
        attribute="slug", column_name="slug", widget=TextWidget("slug", max_length=100, required=True)
    )
    name = Field(
        attribute="name", column_name="name", widget=TextWidget("name", max_length=200, required=True)
    )
    short_name = Field(attribute="short_name", column_name="short_name", widget=TextWidget("short_name", 50))
    description = Field(attribute="description", column_name="description", widget=TextWidget("description"))
    display_order = Field(
        attribute="display_order", column_name="display_order", widget=OrderWidget("display_order")
    )
    is_active = Field(
        attribute="is_active",
        column_name="is_active",
        widget=FlagWidget("is_active"),
        saves_null_values=False,
    )

    required_columns = ("slug", "name")

    class Meta:
        model = Programme
        fields = ("slug", "name", "short_name", "description", "display_order", "is_active")
        export_order = fields
        import_id_fields = ("slug",)
        skip_unchanged = True
        clean_model_instances = True
        name = "Programmes (by slug)"

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not self._is_dry_run(kwargs):
            public.catalogue_changed()


class MetricResource(CheckedResource):
    slug = Field(
        attribute="slug", column_name="slug", widget=TextWidget("slug", max_length=100, required=True)
    )
    programme = Field(attribute="programme", column_name="programme", widget=ProgrammeWidget())
    name = Field(
        attribute="name", column_name="name", widget=TextWidget("name", max_length=200, required=True)
    )
    unit = Field(attribute="unit", column_name="unit", widget=TextWidget("unit", max_length=50))
    kind = Field(
        attribute="kind",
        column_name="kind",
        widget=ChoiceWidget("kind", Metric.Kind.choices),
        saves_null_values=False,
    )
    definition = Field(attribute="definition", column_name="definition", widget=TextWidget("definition"))
    display_order = Field(
        attribute="display_order", column_name="display_order", widget=OrderWidget("display_order")
    )

    required_columns = ("slug", "programme", "name")

    class Meta:
        model = Metric
        fields = ("slug", "programme", "name", "unit", "kind", "definition", "display_order")
        export_order = fields
        import_id_fields = ("slug",)
        skip_unchanged = True
        clean_model_instances = True
        name = "Metrics (by slug)"

    def get_queryset(self):
        return Metric.objects.select_related("programme")

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not self._is_dry_run(kwargs):
            public.catalogue_changed()


class RecordsReleaseEdits:
    """An import that writes a release or its bullets records the edit like the release form does.

    Only a draft's editors may (the permission table's "edit"); the release's version moves on (a
    page opened before the import cannot save over it) and the importer becomes its last editor (so
    they cannot also approve it).
    """

    def check_rows(self, dataset, **kwargs):
        problems = super().check_rows(dataset, **kwargs)
        user = kwargs.get("user")
        if problems or user is None or user.has_perm("statistics.change_release"):
            return problems
        return [Problem("You may not edit releases, so this file cannot be imported. Ask a press officer.")]

    def release_id_of(self, instance) -> int:
        return instance.release_id

    def after_save_instance(self, instance, row, **kwargs):
        super().after_save_instance(instance, row, **kwargs)
        self.__dict__.setdefault("edited_releases", set()).add(self.release_id_of(instance))

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if self._is_dry_run(kwargs):
            return
        from stats.publishing.services import record_edit

        what = self._meta.model._meta.verbose_name_plural
        for release_id in sorted(self.__dict__.get("edited_releases", ())):
            record_edit(release_id, by=kwargs.get("user"), reason=f"Imported {what}")


class ReleaseResource(RecordsReleaseEdits, CheckedResource):
    """Release headings and text; imports create or edit drafts only (publishing is a workflow)."""

    def release_id_of(self, instance) -> int:
        return instance.pk

    period_date = Field(attribute="period_date", column_name="period", widget=DateWidget("period"))
    title = Field(
        attribute="title", column_name="title", widget=TextWidget("title", max_length=200, required=True)
    )
    summary = Field(attribute="summary", column_name="summary", widget=TextWidget("summary"))
    notes = Field(attribute="notes", column_name="notes", widget=TextWidget("notes"))
    status = Field(attribute="status", column_name="status", readonly=True)

    required_columns = ("period", "title")

    class Meta:
        model = Release
        fields = ("period_date", "title", "summary", "notes", "status")
        export_order = fields
        import_id_fields = ("period_date",)
        skip_unchanged = True
        clean_model_instances = True
        name = "Releases (by period)"

    def check_rows(self, dataset, **kwargs):
        problems = super().check_rows(dataset, **kwargs)
        if problems:
            return problems
        periods = [parse_date(unescape_cell(v)) for v in dataset["period"]]
        if None in periods:
            return [
                Problem(f"Row {sheet_row(periods.index(None) + 1)}, column “period”: the period is missing.")
            ]
        locked = dict(
            Release.objects.filter(period_date__in=periods)
            .exclude(status=Release.Status.DRAFT)
            .values_list("period_date", "status")
        )
        return [
            Problem(
                f"Row {sheet_row(n)}, column “period”: the release for {formatting.as_of(p)} is "
                f"{Release.Status(locked[p]).label.lower()}; only drafts can be changed by import."
            )
            for n, p in enumerate(periods, 1)
            if p in locked
        ]


class StatementResource(RecordsReleaseEdits, CheckedResource):
    """Release bullets, keyed by release period, programme slug and position."""

    release = Field(attribute="release", column_name="period", widget=ReleaseWidget())
    programme = Field(attribute="programme", column_name="programme", widget=ProgrammeWidget())
    order = Field(attribute="order", column_name="order", widget=OrderWidget("order"))
    text = Field(attribute="text", column_name="text", widget=TextWidget("text", required=True))

    required_columns = ("period", "programme", "order", "text")

    class Meta:
        model = Statement
        fields = ("release", "programme", "order", "text")
        export_order = fields
        import_id_fields = ("release", "programme", "order")
        skip_unchanged = True
        clean_model_instances = True
        name = "Statements (by period, programme and order)"

    def get_queryset(self):
        return Statement.objects.select_related("release", "programme")

    def check_rows(self, dataset, **kwargs):
        problems = super().check_rows(dataset, **kwargs)
        if problems:
            return problems
        field = self.fields["release"]
        for number, values in enumerate(dataset, 1):
            release = field.clean(dict(zip(dataset.headers, values, strict=False)), row_number=number)
            if release.status != Release.Status.DRAFT:
                problems.append(
                    Problem(
                        f"Row {sheet_row(number)}, column “period”: the release for "
                        f"{release.period_label} is {release.get_status_display().lower()}; "
                        "only a draft’s bullets can be changed by import."
                    )
                )
        return problems
