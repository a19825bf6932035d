"""django-import-export resources: figures, metrics, programmes, releases and statements.

Every resource checks the whole file before it writes anything (headers,
every row, duplicates) and reports each problem by row, column and value;
exports pass every cell through `safe_cells.safe_cell`. The figure resource
also runs the publishing integrity checks (`checks.check_figures`) so an
import and a release submission follow the same rules.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from import_export import resources, widgets
from import_export.fields import Field
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import Error

from common.cells import safe_cell, unescape_cell
from stats.models import Correction, Figure, Metric, Programme, Qualifier, Release, Statement
from stats.outputs import downloads
from stats.publishing import permissions
from stats.publishing.checks import ERROR, ProposedFigure, check_figures
from stats.wording import formatting
from stats.wording.parsing import parse_date, parse_number

_HEADER_JUNK = re.compile(r"[\s\-./]+")


class ImportRefused(Exception):
    """The file cannot be imported; the message says why and where."""


class Refusal(Error):
    """A problem with the file, not with the program: shown without a traceback."""

    traceback = ""


@dataclass(frozen=True)
class Problem:
    message: str
    row: int | None = None  # as the spreadsheet shows it: the heading is row 1

    def __str__(self):
        return f"Row {self.row}: {self.message}" if self.row else self.message


def needs_correction(release: Release) -> bool:
    """Whether changing this release's figures must go through a public correction."""
    return release.status == Release.Status.PUBLISHED or release.is_public


def normalise_header(header) -> str:
    """“Metric slug”, “metric-slug” and “ METRIC_SLUG ” all become “metric_slug”."""
    if header is None:
        return ""
    return _HEADER_JUNK.sub("_", str(header).strip().lower()).strip("_")


def sheet_row(row_number: int) -> int:
    """The spreadsheet row of the n-th data row (the heading is row 1)."""
    return row_number + 1


def where(column: str, kwargs: dict) -> str:
    number = kwargs.get("row_number")
    return f"Row {sheet_row(number)}, column “{column}”" if number else f"Column “{column}”"


def _shown(value) -> str:
    return str(value).strip() if value is not None else ""


# -- Widgets: clear messages naming the row, the column and the value --------------------------------


class LookupWidget(widgets.CachedForeignKeyWidget):
    """Finds a related object by one field, from a dictionary loaded once per import."""

    def __init__(self, model, field, *, column: str, what: str, **kwargs):
        super().__init__(model, field, **kwargs)
        self.column = column
        self.what = what

    def key(self, value):
        return _shown(value)

    def lookup(self) -> dict:
        if not hasattr(self, "_lookup"):
            self._lookup = {self.key(getattr(obj, self.field)): obj for obj in self.model.objects.all()}
        return self._lookup

    def clean(self, value, row=None, **kwargs):
        text = _shown(value)
        if not text:
            raise ValueError(f"{where(self.column, kwargs)}: the {self.what} is missing.")
        obj = self.lookup().get(self.key(value))
        if obj is None:
            raise ValueError(f"{where(self.column, kwargs)}: {self.unknown(text)}")
        return obj

    def unknown(self, text: str) -> str:
        close = difflib.get_close_matches(text, [str(k) for k in self.lookup()], n=1)
        hint = f" Did you mean “{close[0]}”?" if close else ""
        return f"“{text}” is not a known {self.what}.{hint}"


class MetricWidget(LookupWidget):
    def __init__(self, column="metric_slug"):
        super().__init__(Metric, "slug", column=column, what="metric slug")

    def key(self, value):
        return _shown(value).lower()

    def render(self, value, obj=None, **kwargs):
        return value.slug if value else None


class ProgrammeWidget(LookupWidget):
    def __init__(self, column="programme"):
        super().__init__(Programme, "slug", column=column, what="programme slug")

    def key(self, value):
        return _shown(value).lower()

    def render(self, value, obj=None, **kwargs):
        return value.slug if value else None


class ReleaseWidget(LookupWidget):
    """A release named by its period date, in any date form `parse_date` reads."""

    def __init__(self, column="period"):
        super().__init__(Release, "period_date", column=column, what="release")

    def key(self, value):
        return value if isinstance(value, date) else None

    def clean(self, value, row=None, **kwargs):
        try:
            period = parse_date(unescape_cell(value))
        except ValueError as error:
            raise ValueError(f"{where(self.column, kwargs)}: {error}") from None
        if period is None:
            raise ValueError(f"{where(self.column, kwargs)}: the release period is missing.")
        release = self.lookup().get(period)
        if release is None:
            raise ValueError(
                f"{where(self.column, kwargs)}: there is no release for {formatting.as_of(period)} "
                f"({period.isoformat()}). Create the release first, or check the date."
            )
        return release

    def render(self, value, obj=None, **kwargs):
        return value.period_date if value else None


class NumberWidget(widgets.DecimalWidget):
    """A figure's value, read for its metric's kind (percent, money or a count)."""

    def __init__(self, column="value", kind_from=None):
        super().__init__(coerce_to_string=False)
        self.column = column
        self.kind_from = kind_from  # callable(row) -> kind

    def clean(self, value, row=None, **kwargs):
        kind = self.kind_from(row) if self.kind_from and row is not None else formatting.TOTAL
        try:
            return parse_number(unescape_cell(value), kind=kind)
        except ValueError as error:
            raise ValueError(f"{where(self.column, kwargs)}: {error}") from None

    def render(self, value, obj=None, **kwargs):
        return plain_decimal(value)


def plain_decimal(value) -> Decimal | None:
    """A stored decimal as a plain spreadsheet number (no trailing zeros), or None."""
    return None if value is None else Decimal(formatting._plain(Decimal(value)))


class DateWidget(widgets.DateWidget):
    def __init__(self, column):
        super().__init__(coerce_to_string=False)
        self.column = column

    def clean(self, value, row=None, **kwargs):
        try:
            return parse_date(unescape_cell(value))
        except ValueError as error:
            raise ValueError(f"{where(self.column, kwargs)}: {error}") from None

    def render(self, value, obj=None, **kwargs):
        return value


class TextWidget(widgets.CharWidget):
    """Text up to a length; a leading apostrophe added on export is taken off again."""

    def __init__(self, column, max_length=None, required=False):
        super().__init__(coerce_to_string=True, allow_blank=True)
        self.column = column
        self.max_length = max_length
        self.required = required

    def clean(self, value, row=None, **kwargs):
        text = unescape_cell(_shown(value)) if value is not None else ""
        if self.required and not text:
            raise ValueError(f"{where(self.column, kwargs)}: this cell must not be empty.")
        if self.max_length and len(text) > self.max_length:
            raise ValueError(
                f"{where(self.column, kwargs)}: the text is {len(text)} characters long; "
                f"the limit is {self.max_length}."
            )
        return text


class ChoiceWidget(widgets.Widget):
    """One of a set of choices, by key or label; an empty cell gives None (keep what is there)."""

    def __init__(self, column, choices, *, aliases=None, empty_label="none"):
        super().__init__(coerce_to_string=True)
        self.column = column
        self.choices = dict(choices)
        self.empty_label = empty_label
        self.words = {key.lower(): key for key in self.choices if key}
        self.words.update({str(label).lower(): key for key, label in self.choices.items()})
        self.words.update(aliases or {})

    def clean(self, value, row=None, **kwargs):
        text = _shown(value).lower().replace("_", " ")
        if not text:
            return None
        for candidate in (text, text.replace(" ", "_")):
            if candidate in self.words:
                return self.words[candidate]
        allowed = ", ".join(sorted({k or self.empty_label for k in self.choices}))
        raise ValueError(f"{where(self.column, kwargs)}: “{_shown(value)}” is not one of: {allowed}.")

    def render(self, value, obj=None, **kwargs):
        return value or self.empty_label


class FlagWidget(widgets.BooleanWidget):
    """Yes or no; an empty cell gives None, so a field with saves_null_values=False keeps what is there."""

    def __init__(self, column):
        super().__init__(coerce_to_string=False)
        self.column = column

    def clean(self, value, row=None, **kwargs):
        text = _shown(value).lower()
        if text in {"1", "true", "yes", "y"} or value is True:
            return True
        if text in {"0", "false", "no", "n"} or value is False:
            return False
        if not text:
            return None
        raise ValueError(f"{where(self.column, kwargs)}: “{_shown(value)}” is not yes or no.")


class OrderWidget(widgets.IntegerWidget):
    def __init__(self, column):
        super().__init__(coerce_to_string=False)
        self.column = column

    def clean(self, value, row=None, **kwargs):
        if value is None or _shown(value) == "":
            return 0
        try:
            number = int(Decimal(_shown(value)))
        except Exception:
            raise ValueError(
                f"{where(self.column, kwargs)}: “{_shown(value)}” is not a whole number."
            ) from None
        if number < 0:
            raise ValueError(f"{where(self.column, kwargs)}: {number} is negative.")
        return number


# -- The shared behaviour: header check, whole-file check first, safe export -----------------------


class CheckedResource(resources.ModelResource):
    """A resource that refuses a whole file, naming each problem, before writing anything."""

    required_columns: tuple[str, ...] = ()
    # Columns read but not imported (e.g. names shown beside a slug).
    informational_columns: tuple[str, ...] = ()

    def known_columns(self) -> list[str]:
        columns = [f.column_name for f in self.get_import_fields()]
        return columns + [c for c in self.informational_columns if c not in columns]

    def check_headers(self, dataset) -> list[Problem]:
        """Normalise the headings in place and report unknown, missing or repeated columns."""
        headers = [normalise_header(h) for h in (dataset.headers or [])]
        dataset.headers = headers
        known = self.known_columns()
        problems = []
        if not headers:
            return [Problem("The file has no heading row.")]
        if not any(h in known for h in headers):
            return [
                Problem(
                    "The first row must hold the column headings, e.g. "
                    f"{', '.join(self.required_columns)}; this file’s first row is "
                    f"“{', '.join(str(h) for h in (headers[:5]))}”. Remove any title rows above the headings."
                )
            ]
        for index, header in enumerate(headers, 1):
            if not header:
                problems.append(Problem(f"Column {index} has no heading. Every column needs one."))
            elif header not in known:
                close = difflib.get_close_matches(header, known, n=1)
                hint = f" Did you mean “{close[0]}”?" if close else ""
                problems.append(
                    Problem(
                        f"Column “{header}” is not a column we know.{hint} Known columns: {', '.join(known)}."
                    )
                )
        for header in sorted({h for h in headers if h and headers.count(h) > 1}):
            problems.append(Problem(f"Column “{header}” appears more than once."))
        for column in self.required_columns:
            if column not in headers:
                problems.append(Problem(f"The file has no “{column}” column; it is required."))
        if not problems and not len(dataset):
            problems.append(Problem("The file has a heading row but no data rows."))
        return problems

    def check_rows(self, dataset, **kwargs) -> list[Problem]:
        """Clean every cell of every row with the resource's own widgets; report every failure.

        Two rows for the same record (the same key columns) are refused too: the second would
        silently overwrite the first.
        """
        problems = []
        fields = [f for f in self.get_import_fields() if not f.readonly and f.column_name in dataset.headers]
        key_fields = [self.fields[name] for name in self.get_import_id_fields()]
        seen: dict[tuple, int] = {}
        for number, values in enumerate(dataset, 1):
            row = dict(zip(dataset.headers, values, strict=False))
            cleaned = {}
            for f in fields:
                try:
                    cleaned[f.column_name] = f.clean(row, row_number=number)
                except ValueError as error:
                    problems.append(Problem(str(error)))
            key = tuple(cleaned.get(f.column_name) for f in key_fields)
            if any(part is None or part == "" for part in key):
                continue
            if key in seen:
                named = ", ".join(f"{f.column_name} “{_shown(row.get(f.column_name))}”" for f in key_fields)
                problems.append(
                    Problem(
                        f"{named} is already given in row {seen[key]}. Keep one of the two rows.",
                        row=sheet_row(number),
                    )
                )
            else:
                seen[key] = sheet_row(number)
        return problems

    def check_dataset(self, dataset, **kwargs) -> list[Problem]:
        return self.check_headers(dataset) or self.check_rows(dataset, **kwargs)

    def import_data_inner(
        self, dataset, dry_run, raise_errors, using_transactions, collect_failed_rows, **kwargs
    ):
        problems = self.check_dataset(dataset, **kwargs)
        if problems:
            result = self.get_result_class()()
            result.total_rows = len(dataset)
            for problem in problems:
                result.append_base_error(Refusal(ImportRefused(str(problem))))
            result.problems = problems
            if raise_errors:
                raise ImportRefused("; ".join(str(p) for p in problems))
            return result
        result = super().import_data_inner(
            dataset, dry_run, raise_errors, using_transactions, collect_failed_rows, **kwargs
        )
        result.problems = []
        return result

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))


# -- Figures -------------------------------------------------------------------------------------

# The public download's columns without its link to the release page, so a download imports as it is.
FIGURE_COLUMNS = tuple(column for column in downloads.COLUMNS if column != "release_url")
QUALIFIER_ALIASES = {"exact": Qualifier.EXACT, "none": Qualifier.EXACT, "more than": Qualifier.MORE_THAN}


class FigureInstanceLoader(BaseInstanceLoader):
    """Existing figures for the file's releases, loaded once and found by (release, metric)."""

    def __init__(self, resource, dataset=None):
        super().__init__(resource, dataset)
        self.figures = resource.existing

    def get_instance(self, row):
        change = self.resource.current
        if change is not None:
            return self.figures.get((change.release.pk, change.metric.pk))
        return self.figures.get(self.resource.row_key(row))


@dataclass(frozen=True)
class Snapshot:
    """A figure as it was before the import (the import edits the model instance itself)."""

    pk: int
    value: Decimal
    as_of: date | None
    qualifier: str
    note: str
    is_confirmed: bool = True

    @classmethod
    def of(cls, figure: Figure | None) -> Snapshot | None:
        if figure is None:
            return None
        return cls(figure.pk, figure.value, figure.as_of, figure.qualifier, figure.note, figure.is_confirmed)


@dataclass
class Change:
    """One row of a figure import: what the figure was and what it becomes."""

    row: int
    release: Release
    metric: Metric
    value: Decimal
    as_of: date | None
    qualifier: str | None
    note: str | None
    old: Snapshot | None = None
    previous: Decimal | None = None  # the value in the release before this one
    warnings: list[str] = field(default_factory=list)
    needs_explanation: bool = False  # a fall the import's explanation explains

    @property
    def action(self) -> str:
        if self.old is None:
            return "new"
        if self.changes_anything:
            return "changed"
        return "confirmed" if self.confirms else "unchanged"

    @property
    def confirms(self) -> bool:
        """The supplier re-sent a copied figure unchanged: the import confirms it is still right."""
        return self.old is not None and not self.old.is_confirmed and not self.changes_anything

    @property
    def writes(self) -> bool:
        return self.changes_anything or self.confirms

    @property
    def changes_anything(self) -> bool:
        old = self.old
        return (
            old is None
            or old.value != self.value
            or old.as_of != self.as_of
            or (self.qualifier is not None and old.qualifier != self.qualifier)
            or (self.note is not None and old.note != self.note)
        )

    @property
    def was(self) -> str:
        return formatting.exact(self.old.value, kind=self.metric.kind) if self.old else "—"

    @property
    def now(self) -> str:
        return formatting.exact(self.value, kind=self.metric.kind)

    @property
    def last_release(self) -> str:
        return formatting.exact(self.previous, kind=self.metric.kind) if self.previous is not None else "—"

    @property
    def difference(self) -> str:
        if self.old is None or self.old.value == self.value:
            return ""
        return formatting.change(self.value, self.old.value, kind=self.metric.kind)


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
        instance_loader_class = FigureInstanceLoader
        use_bulk = True
        batch_size = 2000
        skip_unchanged = True
        # No per-row copy of the old figure: `skip_row` compares with the loader's figures instead.
        skip_diff = True
        skip_html_diff = True
        name = "Figures (by period and metric slug)"

    def __init__(self, *, release: Release | None = None, reason: str = "", user=None, **kwargs):
        super().__init__(**kwargs)
        self.release = release  # importing into one release: every row must be for it
        self.reason = (reason or "").strip()
        self.user = user
        self.releases_in_file: list[Release] = []
        self.existing: dict[tuple[int, int], Figure] = {}
        self.changes: list[Change] = []
        self.warnings: list[str] = []
        self._refusals: dict[int, str] = {}
        self.fields["value"].widget.kind_from = self.kind_of_row
        if release is not None:
            self.required_columns = ("metric_slug", "value")

    # Lookups shared by the check, the loader and the rows ------------------------------------

    def kind_of_row(self, row) -> str:
        metric = self.fields["metric_slug"].widget.lookup().get(_shown(row.get("metric_slug")).lower())
        return metric.kind if metric else formatting.TOTAL

    def release_of_row(self, row, **kwargs) -> Release:
        if self.release is not None and not _shown(row.get("period")):
            return self.release
        return self.fields["period"].clean(row, **kwargs)

    def row_key(self, row) -> tuple[int, int] | None:
        release = self.release_of_row(row)
        metric = self.fields["metric_slug"].clean(row)
        return release.pk, metric.pk

    def get_queryset(self):
        return Figure.objects.select_related("metric__programme", "release")

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.column_name == "period" and self.release is not None and not _shown(row.get("period")):
            instance.release = self.release
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def get_instance(self, instance_loader, row):
        return instance_loader.get_instance(row)

    # The whole-file check -------------------------------------------------------------------

    def check_headers(self, dataset) -> list[Problem]:
        headers = [normalise_header(h) for h in (dataset.headers or [])]
        dataset.headers = headers
        known = self.known_columns()
        if self.release is not None and "period" not in headers and set(headers) & set(known):
            dataset.append_col([self.release.period_date] * len(dataset), header="period")
        return super().check_headers(dataset)

    def check_rows(self, dataset, **kwargs) -> list[Problem]:
        problems: list[Problem] = []
        changes: list[Change] = []
        seen: dict[tuple[int, int], int] = {}
        cols = dataset.headers
        fields = self.fields
        for number, values in enumerate(dataset, 1):
            row = dict(zip(cols, values, strict=False))
            line = sheet_row(number)
            found = []
            release = metric = None
            try:
                release = self.release_of_row(row, row_number=number)
            except ValueError as error:
                found.append(str(error))
            try:
                metric = fields["metric_slug"].clean(row, row_number=number)
            except ValueError as error:
                found.append(str(error))
            parsed = {}
            for name in ("value", "as_of", "qualifier", "note"):
                if name not in row:
                    parsed[name] = None
                    continue
                if name == "value" and metric is None:
                    continue  # cannot read the number without knowing what it counts
                try:
                    parsed[name] = fields[name].clean(row, row_number=number)
                except ValueError as error:
                    found.append(str(error))
            if release is not None and self.release is not None and release.pk != self.release.pk:
                found.append(
                    f"Row {line}, column “period”: {release.period_date.isoformat()} is not this release’s "
                    f"period ({self.release.period_date.isoformat()}). Import it from that release’s page."
                )
            refused = self.refusal_for(release) if release is not None else ""
            if refused:
                found.append(f"Row {line}, column “period”: {refused}")
            if release is not None and metric is not None:
                key = (release.pk, metric.pk)
                if key in seen:
                    found.append(
                        f"Row {line}: {metric.slug} for {release.period_label} is already given in row "
                        f"{seen[key]}. Keep one of the two rows."
                    )
                else:
                    seen[key] = line
            if found:
                problems.extend(Problem(message) for message in found)
                continue
            changes.append(
                Change(
                    row=line,
                    release=release,
                    metric=metric,
                    value=parsed["value"],
                    as_of=parsed["as_of"],
                    qualifier=parsed["qualifier"],
                    note=parsed["note"],
                )
            )
        if problems:
            return problems
        self.releases_in_file = sorted({c.release for c in changes}, key=lambda r: r.period_date)
        self.existing = existing = {
            (f.release_id, f.metric_id): f
            for f in Figure.objects.filter(release__in=self.releases_in_file).select_related(None)
        }
        for change in changes:
            change.old = Snapshot.of(existing.get((change.release.pk, change.metric.pk)))
            if "as_of" not in cols:
                change.as_of = change.old.as_of if change.old else None
        problems.extend(self.check_corrections(changes))
        problems.extend(self.check_integrity(changes))
        self.changes = changes
        return problems

    def refusal_for(self, release: Release) -> str:
        """Why this import may not change `release`'s figures (its state, the importer's role), or ""."""
        if release.pk in self._refusals:
            return self._refusals[release.pk]
        action = permissions.content_action(release)
        state = permissions.STATE_LABELS[permissions.state_of(release)]
        if action is None:
            hint = "" if release.status == Release.Status.WITHDRAWN else " Return it to draft to change it."
            refused = (
                f"the release for {release.period_label} is {state}; its figures cannot be changed.{hint}"
            )
        elif self.user is not None and not permissions.allowed(self.user, action, release):
            refused = (
                f"the release for {release.period_label} is {state}; only "
                + ("those who may correct a published release" if action == "correct" else "its editors")
                + " can change its figures."
            )
        else:
            refused = ""
        self._refusals[release.pk] = refused
        return refused

    def check_corrections(self, changes: list[Change]) -> list[Problem]:
        """Changing a published release needs a correction reason, which goes on its public page."""
        if self.reason:
            return []
        rows = defaultdict(list)
        for change in changes:
            if needs_correction(change.release) and change.changes_anything:
                rows[change.release].append(change.row)
        return [
            Problem(
                f"The release for {release.period_label} is published: give a correction reason to "
                f"change its figures (rows {', '.join(map(str, lines[:10]))}"
                f"{'…' if len(lines) > 10 else ''}). "
                "The reason is shown to the public."
            )
            for release, lines in rows.items()
        ]

    def previous_values(
        self, releases: list[Release], changes: list[Change]
    ) -> dict[int, dict[str, Decimal]]:
        """For each release in the file, the values of the release before it (file rows win)."""
        compared = list(
            Release.objects.exclude(status__in=(Release.Status.WITHDRAWN, Release.Status.DRAFT)).values_list(
                "pk", "period_date"
            )
        )
        in_file = {r.pk: r.period_date for r in releases}
        pool = sorted(set(compared) | set(in_file.items()), key=lambda item: item[1])
        dates = [d for _, d in pool]
        previous_of = {}
        for release in releases:
            index = bisect.bisect_left(dates, release.period_date)
            if index > 0:
                previous_of[release.pk] = pool[index - 1][0]
        values: dict[int, dict[str, Decimal]] = defaultdict(dict)
        for release_id, slug, value in Figure.objects.filter(
            release_id__in=set(previous_of.values())
        ).values_list("release_id", "metric__slug", "value"):
            values[release_id][slug] = value
        for change in changes:
            values[change.release.pk][change.metric.slug] = change.value
        return {pk: values.get(prev, {}) for pk, prev in previous_of.items()}

    def explained_slugs(self, releases: list[Release]) -> dict[int, set[str]]:
        """Metrics whose fall a note on the release already explains ("Explain a fall or jump")."""
        explained = defaultdict(set)
        for release_id, slug in Correction.objects.filter(
            release__in=releases, release__status=Release.Status.DRAFT, figure__isnull=False
        ).values_list("release_id", "figure__metric__slug"):
            explained[release_id].add(slug)
        return explained

    def check_integrity(self, changes: list[Change]) -> list[Problem]:
        """The publishing checks (falls, jumps) for every release the file touches.

        A fall is allowed when a note already explains it, or when the import gives an explanation
        (the reason box): a draft then gets a note per fall, a published release a correction.
        """
        problems = []
        by_release = defaultdict(list)
        for change in changes:
            by_release[change.release].append(change)
        previous = self.previous_values(list(by_release), changes)
        explained = self.explained_slugs(list(by_release))
        for release, rows in by_release.items():
            by_slug = {c.metric.slug: c for c in rows}
            before = previous.get(release.pk, {})
            for change in rows:
                change.previous = before.get(change.metric.slug)
            findings = check_figures(
                [ProposedFigure.of(c) for c in rows],
                previous.get(release.pk, {}),
                period_date=release.period_date,
            )
            for finding in findings:
                change = by_slug.get(finding.metric_slug)
                if finding.check == "falls" and change is not None:
                    if finding.metric_slug in explained[release.pk]:
                        continue
                    if self.reason:
                        change.needs_explanation = not needs_correction(release)
                        continue
                message = (
                    f"{release.period_label}: {finding.message}" if len(by_release) > 1 else finding.message
                )
                if finding.level == ERROR:
                    problems.append(Problem(message, row=change.row if change else None))
                else:
                    if change:
                        change.warnings.append(finding.message)
                    self.warnings.append(str(Problem(message, row=change.row if change else None)))
        return problems

    # Writing ------------------------------------------------------------------------------------
    # The whole-file check has already read every row with the widgets; the rows reuse that reading.

    current: Change | None = None

    def before_import_row(self, row, **kwargs):
        number = kwargs.get("row_number")
        self.current = self.changes[number - 1] if number and len(self.changes) >= number else None

    def import_instance(self, instance, row, **kwargs):
        change = self.current
        if change is None:
            return super().import_instance(instance, row, **kwargs)
        instance.release = change.release
        instance.metric = change.metric
        instance.value = change.value
        if "as_of" in row:
            instance.as_of = change.as_of
        if change.qualifier is not None:
            instance.qualifier = change.qualifier
        if change.note is not None:
            instance.note = change.note

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or instance.pk is None:
            return False
        old = self._old_values.get(instance.pk)
        return old == (instance.value, instance.as_of, instance.qualifier, instance.note, True)

    def before_import(self, dataset, **kwargs):
        self._old_values = {
            c.old.pk: (c.old.value, c.old.as_of, c.old.qualifier, c.old.note, c.old.is_confirmed)
            for c in self.changes
            if c.old
        }

    def before_save_instance(self, instance, row, **kwargs):
        instance.kind = instance.metric.kind
        instance.is_confirmed = True  # a supplier's figure is this release's own, not a copy

    def write_history(self, figures: list[Figure], history_type: str) -> None:
        """History rows for figures just written in bulk: one INSERT … SELECT per batch of ids."""
        history = Figure.history.model
        table, source = connection.ops.quote_name(history._meta.db_table), Figure._meta.db_table
        columns = [f.column for f in Figure._meta.concrete_fields]
        extra = {
            "history_date": connection.ops.adapt_datetimefield_value(timezone.now()),
            "history_change_reason": (self.reason or "Imported from a spreadsheet")[:100],
            "history_type": history_type,
            "history_user_id": self.user.pk if getattr(self.user, "pk", None) else None,
        }
        quote = connection.ops.quote_name
        pks = [f.pk for f in figures]
        step = 500  # stays under SQLite's limit on query parameters
        with connection.cursor() as cursor:
            for start in range(0, len(pks), step):
                batch = pks[start : start + step]
                into = ", ".join(quote(c) for c in [*columns, *extra])
                select = ", ".join([*(quote(c) for c in columns), *(["%s"] * len(extra))])
                ids = ", ".join(["%s"] * len(batch))
                cursor.execute(
                    f"INSERT INTO {table} ({into}) SELECT {select} FROM {quote(source)} WHERE id IN ({ids})",
                    [*extra.values(), *batch],
                )

    # A dry run (the preview) writes nothing: the whole-file check has found every problem a write
    # could meet (duplicates, negatives, percentages over 100), and the confirm writes for real.

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if not self.create_instances:
            return
        try:
            if not dry_run:
                created = Figure.objects.bulk_create(self.create_instances, batch_size=batch_size)
                self.write_history(created, "+")
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            self.create_instances.clear()

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        if not self.update_instances:
            return
        try:
            if not dry_run:
                fields = ["value", "as_of", "qualifier", "note", "kind", "is_confirmed"]
                Figure.objects.bulk_update(self.update_instances, fields, batch_size=batch_size)
                self.write_history(self.update_instances, "~")
        except Exception as error:
            self.handle_import_error(result, error, raise_errors)
        finally:
            self.update_instances.clear()

    def after_import(self, dataset, result, **kwargs):
        """New figures bring no ids from the file, so the sequence reset is not needed."""


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
