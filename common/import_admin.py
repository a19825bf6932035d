"""Import and export in the admin, checked: every import reads its file through
`common.spreadsheets` (so every import refuses bad files the same way), refuses a file over the
size limit before reading it, says which text encoding it read, and applies a confirmation once.
Exports write formula-safe cells and JSON numbers as numbers."""

from __future__ import annotations

import contextlib
import json
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePath

from django import forms
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm, SelectableFieldsExportForm

from common.cells import plain_number
from common.spreadsheets import (
    EXTENSIONS,
    FORMAT_NAMES,
    NOT_HELD,
    ImportRefused,
    check_size,
    dataset_from_bytes,
)


def _uploaded_bytes(upload) -> bytes:
    return b"".join(upload.chunks())


def _size_checked(upload):
    """The uploaded file, or a form error when it is over the size limit."""
    try:
        check_size(upload.name, upload.size)
    except ImportRefused as error:
        raise forms.ValidationError(str(error)) from None
    return upload


# -- Formats: read through `imports` so every import refuses bad files the same way ---------------


@dataclass
class Reading:
    """The file an admin import is reading: its name, for messages, and the encoding it was read in."""

    name: str = ""
    encoding: str = ""


# Set by the import views around the library's reading of the file (one per request and thread).
_reading: ContextVar[Reading | None] = ContextVar("newsroom_import_reading", default=None)


class _CheckedFormat:
    kind = ""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if in_stream is None:  # the held upload was imported already, or expired
            raise ImportRefused(NOT_HELD)
        data = in_stream.encode("utf-8") if isinstance(in_stream, str) else in_stream
        reading = _reading.get()
        name = PurePath(reading.name).name if reading and reading.name else f"The {self.kind.upper()} file"
        named = EXTENSIONS.get(PurePath(name).suffix.lower())
        if named and named != self.kind:
            raise ImportRefused(
                f"{name} is named as {FORMAT_NAMES[named]}, but the format chosen is {self.kind.upper()}. "
                f"Choose {named.upper()} as the format and upload it again."
            )
        upload = dataset_from_bytes(data, name, self.kind)
        if reading is not None:
            reading.encoding = upload.encoding
        return upload.dataset


class CSVFormat(_CheckedFormat, base_formats.CSV):
    kind = "csv"


class XLSXFormat(_CheckedFormat, base_formats.XLSX):
    kind = "xlsx"


class JSONFormat(_CheckedFormat, base_formats.JSON):
    kind = "json"

    def export_data(self, dataset, **kwargs):
        """JSON with numbers as numbers (tablib writes decimals as strings) and ISO dates."""
        return json.dumps(
            [{k: json_value(v) for k, v in row.items()} for row in dataset.dict], ensure_ascii=False
        )


def json_value(value):
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


FORMATS = [CSVFormat, XLSXFormat, JSONFormat]


def read_as(name: str, encoding: str) -> str:
    """What the preview says about how a text file was read."""
    if encoding == "Windows-1252":
        return (
            f"The file {name} is not UTF-8, so it was read as Windows-1252 text. If it holds accented "
            "letters or symbols such as £ or €, check that they came out right; if not, save the file as "
            "“CSV UTF-8” and upload it again."
        )
    return f"The file {name} was read as {encoding} text."


def text_level(encoding: str) -> int:
    return messages.INFO if encoding.startswith("UTF") else messages.WARNING


ALREADY_CONFIRMED = (
    "This import was confirmed already (in another window, or by pressing Confirm twice): it was "
    "applied once, and nothing more was imported."
)


def claim_confirmation(token: str) -> str | None:
    """The key that marks a held upload as being applied, for its first confirmation only; else None.

    An atomic add in the shared cache (where the upload itself is held), so of several confirmations
    sent at once, across servers, exactly one goes on to apply the file.
    """
    key = f"import-confirmed:{token}"
    return key if cache.add(key, True, timeout=24 * 60 * 60) else None


def give_back(claim: str | None) -> None:
    """A confirmation that applied nothing (the file failed its checks): it may be tried again."""
    if claim:
        cache.delete(claim)


class SizeLimitedImportForm(ImportForm):
    """The library's import form, refusing files over the size limit before reading them."""

    def clean_import_file(self):
        return _size_checked(self.cleaned_data["import_file"])


class CheckedConfirmImportForm(ConfirmImportForm):
    """The library's confirm form, refusing a format or resource the page never offered."""

    def __init__(self, *args, formats: int = 0, resources: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = {"format": formats, "resource": resources}

    def _index(self, name: str, *, required: bool) -> str:
        value = self.cleaned_data[name]
        if (value or required) and not (value.isdigit() and int(value) < self.choices[name]):
            raise forms.ValidationError("The confirmation was incomplete. Upload the file again.")
        return value

    def clean_format(self):
        return self._index("format", required=True)

    def clean_resource(self):
        return self._index("resource", required=False)


class ExportColumnsForm(SelectableFieldsExportForm):
    """The export page's choice of columns, each box marked with HTML's data-resource-id, not resource-id."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        for field in self.fields.values():
            if "resource-id" in field.widget.attrs:
                field.widget.attrs["data-resource-id"] = field.widget.attrs.pop("resource-id")


class NewsroomImportExportMixin(ImportExportMixin):
    """ImportExportMixin with size limit, checked formats and plain-English read errors.

    The confirmation is checked too: a repeated, expired or forged one is sent back to the upload
    page with a message, and a file that no longer passes the checks is not imported at all.
    """

    import_form_class = SizeLimitedImportForm
    confirm_form_class = CheckedConfirmImportForm
    export_form_class = ExportColumnsForm
    formats = FORMATS

    def init_request_context_data(self, request, form):
        """The export page's form posts to the page's own address (the library leaves action="")."""
        context = super().init_request_context_data(request, form)
        context.setdefault("export_url", request.get_full_path())
        return context

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportRefused):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def import_action(self, request, **kwargs):
        """The library's upload and preview, naming the file in messages and saying how its text was read.

        A refused file is not kept for a confirmation that cannot come.
        """
        upload = request.FILES.get("import_file")
        reading = Reading(name=PurePath(upload.name).name if upload else "")
        token = _reading.set(reading)
        try:
            response = super().import_action(request, **kwargs)
        finally:
            _reading.reset(token)
        context = getattr(response, "context_data", None) or {}
        if context.get("confirm_form") is not None:
            if reading.encoding:
                self.message_user(
                    request, read_as(reading.name, reading.encoding), text_level(reading.encoding)
                )
        else:
            self.forget_held_file(upload)
        return response

    def forget_held_file(self, upload) -> None:
        """Remove the copy the library keeps of an upload for its confirmation (it names it on the upload)."""
        held = getattr(upload, "tmp_storage_name", None)
        if held:
            storage = self.get_tmp_storage_class()(name=held, **self.get_tmp_storage_class_kwargs())
            with contextlib.suppress(OSError):  # a temporary folder's file already gone
                storage.remove()

    def get_confirm_form_kwargs(self, request, import_form=None):
        return {
            **super().get_confirm_form_kwargs(request, import_form),
            "formats": len(self.get_import_formats()),
            "resources": len(self.get_import_resource_classes(request)),
        }

    def get_import_data_kwargs(self, **kwargs):
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    def import_page(self, request, message: str) -> HttpResponseRedirect:
        """Back to the upload page, saying why nothing was imported."""
        self.message_user(request, message, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:{}_{}_import".format(*self.get_model_info())))

    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return self.import_page(request, "The confirmation was incomplete. Upload the file again.")
        claim = claim_confirmation(confirm_form.cleaned_data["import_file_name"])
        if claim is None:
            return self.import_page(request, ALREADY_CONFIRMED)
        request.import_claim = claim
        token = _reading.set(Reading(name=confirm_form.cleaned_data["original_file_name"]))
        try:
            return super().process_import(request, **kwargs)
        except ImportRefused as error:
            give_back(claim)
            return self.import_page(request, str(error))
        except Exception:
            give_back(claim)
            raise
        finally:
            _reading.reset(token)

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            give_back(getattr(request, "import_claim", None))
            return self.import_page(
                request,
                "Nothing was imported: the file no longer passes the checks (the data changed since the "
                "preview). Upload it again to see the problems.",
            )
        return super().process_result(result, request)
