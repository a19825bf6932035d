"""Spreadsheet import and export of media contacts (django-import-export)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets
from phonenumber_field.phonenumber import to_python

from common.cells import safe_cell, unescape_cell
from common.resources import FlagWidget, OrderWidget, Refusal
from common.spreadsheets import ImportRefused
from contacts import phones, public
from contacts.models import MediaContact
from stats.models import Programme

PHONE_HELP = "type a UK number as dialled, e.g. 020 7004 1555, or an international number starting with +"


class PhoneWidget(widgets.Widget):
    """UK national format out ("020 7004 1555"); any dialable number in."""

    def clean(self, value, row=None, **kwargs):
        if value is None or str(value).strip() == "":
            return ""
        if isinstance(value, int | float):  # a spreadsheet dropped the leading 0
            value = "0" + str(int(value))
        text = str(value).strip()
        number = to_python(text, region="GB")
        if number is None or not number.is_valid():
            raise ValueError(f"“{text}” is not a phone number that can be dialled: {PHONE_HELP}.")
        return number

    def render(self, value, obj=None, **kwargs):
        return phones.display(value) if value else ""


class ProgrammesWidget(widgets.ManyToManyWidget):
    """Programme slugs separated by commas; an unknown slug is an error that names it."""

    def __init__(self):
        super().__init__(Programme, separator=",", field="slug")

    def clean(self, value, row=None, **kwargs):
        programmes = super().clean(value, row=row, **kwargs)
        if value:
            wanted = {slug.strip() for slug in str(value).split(self.separator) if slug.strip()}
            unknown = sorted(wanted - {programme.slug for programme in programmes})
            if unknown:
                known = ", ".join(Programme.objects.order_by("slug").values_list("slug", flat=True))
                raise ValueError(f"No programme has the slug {', '.join(unknown)}; use one of: {known}.")
        return programmes


class MediaContactResource(resources.ModelResource):
    """One row per contact, matched on its slug; the admin's import and export use it."""

    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    out_of_hours_phone = fields.Field(
        attribute="out_of_hours_phone", column_name="out_of_hours_phone", widget=PhoneWidget()
    )
    programmes = fields.Field(attribute="programmes", column_name="programmes", widget=ProgrammesWidget())
    display_order = fields.Field(
        attribute="display_order", column_name="display_order", widget=OrderWidget("display_order")
    )
    # An empty cell keeps what the contact has (a new contact is active).
    is_active = fields.Field(
        attribute="is_active",
        column_name="is_active",
        widget=FlagWidget("is_active"),
        saves_null_values=False,
    )
    last_verified = fields.Field(
        attribute="last_verified", column_name="last_verified", widget=widgets.DateWidget("%Y-%m-%d")
    )

    class Meta:
        model = MediaContact
        import_id_fields = ["slug"]
        fields = [
            "slug",
            "name",
            "remit",
            "organisation",
            "phone",
            "out_of_hours_phone",
            "email",
            "website",
            "note",
            "programmes",
            "display_order",
            "is_active",
            "last_verified",
        ]
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def get_queryset(self):
        return super().get_queryset().prefetch_related("programmes")

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if not self._is_dry_run(kwargs):
            public.contacts_changed()

    def before_import(self, dataset, **kwargs):
        """Refuse a file whose header row has unknown or missing columns, or that gives a slug twice."""
        headers = [str(header or "").strip() for header in dataset.headers or []]
        expected = list(self._meta.fields)
        unknown = [header for header in headers if header not in expected]
        missing = [name for name in ("slug", "name", "organisation") if name not in headers]
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if problems:
            raise ImportRefused(
                f"The header row has {' and '.join(problems)}. Expected columns: {', '.join(expected)}."
            )
        rows: dict[str, int] = {}
        for number, slug in enumerate(dataset["slug"], 2):
            slug = str(slug or "").strip()
            if slug in rows:
                raise ImportRefused(
                    f"Row {number}: the slug “{slug}” is already given in row {rows[slug]}. "
                    "Keep one of the two rows."
                )
            if slug:
                rows[slug] = number

    def get_error_result_class(self):
        """Problems are shown to press officers by message alone, never with a traceback."""
        return Refusal

    def import_instance(self, instance, row, **kwargs):
        """Check the programmes column with the other fields, so a bad slug is a row error, not a crash."""
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors.update(error.error_dict)
        programmes = self.fields["programmes"]
        if programmes.column_name in row:
            try:
                programmes.clean(row)
            except ValueError as error:
                errors["programmes"] = [ValidationError(str(error), code="invalid")]
        if errors:
            raise ValidationError(errors)

    def before_import_row(self, row, **kwargs):
        """Undo the apostrophe the export puts before formula-like text."""
        for key, value in row.items():
            row[key] = unescape_cell(value)

    def export_field(self, field, instance, **kwargs):
        """Neutralise text a spreadsheet would run as a formula; numbers and dates stay native."""
        return safe_cell(super().export_field(field, instance, **kwargs))
