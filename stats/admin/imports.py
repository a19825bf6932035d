"""Import and export in the admin: figure imports with a preview, supplier templates, safe exports."""

from __future__ import annotations

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
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.module_loading import import_string
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm

from stats.models import Figure, Release
from stats.outputs.downloads import plain_number
from stats.publishing import permissions
from stats.spreadsheets.imports import (
    EXTENSIONS,
    FORMAT_NAMES,
    NOT_HELD,
    check_size,
    dataset_from_bytes,
    import_figures,
    max_upload_bytes,
    read_upload,
    size_label,
    supplier_template,
)
from stats.spreadsheets.resources import (
    FigureResource,
    ImportRefused,
    MetricResource,
    ProgrammeResource,
    ReleaseResource,
    StatementResource,
    needs_correction,
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


class NewsroomImportExportMixin(ImportExportMixin):
    """ImportExportMixin with size limit, checked formats and plain-English read errors.

    The confirmation is checked too: a repeated, expired or forged one is sent back to the upload
    page with a message, and a file that no longer passes the checks is not imported at all.
    """

    import_form_class = SizeLimitedImportForm
    confirm_form_class = CheckedConfirmImportForm
    formats = FORMATS

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
            try:
                storage.remove()
            except OSError:  # a temporary folder's file already gone
                pass

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


class ProgrammeImportExportMixin(NewsroomImportExportMixin):
    resource_classes = [ProgrammeResource]


class MetricImportExportMixin(NewsroomImportExportMixin):
    resource_classes = [MetricResource]


class StatementImportExportMixin(NewsroomImportExportMixin):
    resource_classes = [StatementResource]


# -- Figure imports: upload → preview (old → new, checks) → confirm --------------------------------


class FigureImportForm(forms.Form):
    import_file = forms.FileField(
        label="Spreadsheet",
        help_text=(
            "A CSV, Excel (.xlsx) or JSON file. It needs the columns period, metric_slug and value; "
            "as_of, qualifier and note are optional. An empty qualifier or note keeps what the figure has."
        ),
    )
    reason = forms.CharField(
        label="Explanation (for a fall, or a correction)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=(
            "Needed when a total to date or a best-ever record falls since the last release, and when the "
            "import changes a published release. It is published with each such figure, e.g. “The "
            "supplier removed duplicate bookings.”"
        ),
    )

    def __init__(self, *args, require_reason=False, draft=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_reason = require_reason
        self.fields["import_file"].help_text += f" Up to {size_label(max_upload_bytes())}."
        if draft:
            self.fields["reason"].label = "Explanation of falls"
            self.fields["reason"].help_text = (
                "Only if a total to date or a best-ever record falls since the last release, and the new "
                "figure is right: say why, e.g. “The supplier removed duplicate bookings.” It is published "
                "with the release as a note against each figure that falls."
            )
        if require_reason:
            self.fields["reason"].label = "Correction reason"
            self.fields["reason"].required = True
            self.fields["reason"].help_text = (
                "This release is published: every figure the import changes gets a public correction "
                "notice with this reason."
            )

    def clean_import_file(self):
        return _size_checked(self.cleaned_data["import_file"])


class ConfirmFigureImportForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    file_name = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(widget=forms.HiddenInput, required=False)


def can_import_figures(request) -> bool:
    from django.conf import settings
    from django.contrib.auth import get_permission_codename

    code = getattr(settings, "IMPORT_EXPORT_IMPORT_PERMISSION_CODE", None)
    opts = Figure._meta
    allowed = request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")
    if code:
        allowed = allowed and request.user.has_perm(f"{opts.app_label}.{get_permission_codename(code, opts)}")
    return allowed


class FigureImportViewMixin:
    """The figure import page, for one release or (release=None) for the figure list."""

    figure_import_template = "admin/statistics/figure_import.html"

    def figure_tmp_storage(self, **kwargs):
        from django.conf import settings

        storage_class = getattr(
            settings, "IMPORT_EXPORT_TMP_STORAGE_CLASS", "import_export.tmp_storages.CacheStorage"
        )
        if isinstance(storage_class, str):
            storage_class = import_string(storage_class)
        return storage_class(read_mode="rb", **kwargs)

    def figure_import_view(self, request, *, release: Release | None, done_url: str, title: str):
        if not can_import_figures(request):
            raise PermissionDenied
        require_reason = release is not None and needs_correction(release)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "release": release,
            "done_url": done_url,
            "max_size": size_label(max_upload_bytes()),
            "template_url": (
                reverse("admin:statistics_release_supplier_template", args=[release.pk]) if release else None
            ),
        }
        if request.method == "POST" and "_confirm" in request.POST:
            return self._confirm_figure_import(request, release, context)
        draft = release is not None and release.status == Release.Status.DRAFT
        form = FigureImportForm(
            request.POST or None, request.FILES or None, require_reason=require_reason, draft=draft
        )
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["import_file"]
            data = _uploaded_bytes(upload)
            reason = form.cleaned_data["reason"]
            try:
                read = read_upload(data, upload.name)
            except ImportRefused as error:
                context["problems"] = str(error).splitlines()
            else:
                outcome = import_figures(read.dataset, release=release, reason=reason, user=request.user)
                context.update(outcome=outcome, upload=read)
                if read.encoding:
                    context["read_as"] = read_as(read.name, read.encoding)
                if outcome.ok:
                    storage = self.figure_tmp_storage()
                    storage.save(data)
                    context["confirm_form"] = ConfirmFigureImportForm(
                        initial={"token": storage.name, "file_name": read.name, "reason": reason}
                    )
                else:
                    context["problems"] = outcome.problems
        context["form"] = form
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.figure_import_template, context)

    def _confirm_figure_import(self, request, release, context):
        confirm = ConfirmFigureImportForm(request.POST)
        form = FigureImportForm(
            require_reason=release is not None and needs_correction(release),
            draft=release is not None and release.status == Release.Status.DRAFT,
        )
        context["form"] = form
        if not confirm.is_valid():
            context["problems"] = ["The confirmation was incomplete. Upload the file again."]
            return TemplateResponse(request, self.figure_import_template, context)
        storage = self.figure_tmp_storage(name=confirm.cleaned_data["token"])
        data = storage.read()
        if not data:
            context["problems"] = [NOT_HELD]
            return TemplateResponse(request, self.figure_import_template, context)
        claim = claim_confirmation(confirm.cleaned_data["token"])
        if claim is None:
            context["problems"] = [ALREADY_CONFIRMED]
            return TemplateResponse(request, self.figure_import_template, context)
        reason = confirm.cleaned_data["reason"]
        try:
            read = read_upload(data, confirm.cleaned_data["file_name"])
            outcome = import_figures(
                read.dataset, release=release, reason=reason, user=request.user, dry_run=False
            )
        except ImportRefused as error:
            give_back(claim)
            context["problems"] = str(error).splitlines()
            return TemplateResponse(request, self.figure_import_template, context)
        except Exception:
            give_back(claim)
            raise
        if not outcome.ok:
            give_back(claim)
            context.update(outcome=outcome, problems=outcome.problems, upload=read)
            return TemplateResponse(request, self.figure_import_template, context)
        storage.remove()
        touched = {c.release.pk: c.release for c in outcome.changes if c.changes_anything}
        for changed in touched.values():
            count = sum(1 for c in outcome.changes if c.release.pk == changed.pk and c.changes_anything)
            self.log_change(
                request, changed, f"Imported {count} figure{'s' if count != 1 else ''} from {read.name}."
            )
        where = f" into {release.heading}" if release else ""
        messages.success(request, f"Imported {read.name}{where}: {outcome.summary}.")
        for warning in outcome.warnings[:20]:
            messages.warning(request, warning)
        return HttpResponseRedirect(context["done_url"])


class FigureImportExportMixin(FigureImportViewMixin, NewsroomImportExportMixin):
    """The figure list: export with the figure resource; import through the checked preview."""

    resource_classes = [FigureResource]

    def import_action(self, request, **kwargs):
        return self.figure_import_view(
            request,
            release=None,
            done_url=reverse("admin:statistics_figure_changelist"),
            title="Import figures for one or more releases",
        )

    def process_import(self, request, **kwargs):
        return self.import_action(request, **kwargs)

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("metric__programme", "release")


class ReleaseImportExportMixin(FigureImportViewMixin, NewsroomImportExportMixin):
    """A release's page: import figures into it, and download the supplier template."""

    resource_classes = [ReleaseResource]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/import-figures/",
                view(self.release_import_figures_view),
                name="statistics_release_import_figures",
            ),
            path(
                "<path:object_id>/supplier-template.xlsx",
                view(self.supplier_template_view),
                name="statistics_release_supplier_template",
            ),
        ] + super().get_urls()

    def can_import_into(self, request, release) -> bool:
        """Drafts by their editors; public releases only as a correction, by those who may correct."""
        action = permissions.content_action(release)
        return action is not None and permissions.allowed(request.user, action, release)

    def release_or_404(self, request, object_id) -> Release:
        """The release the address names; 404 for an unknown or malformed id ("abc")."""
        release = self.get_object(request, object_id)
        if release is None:
            raise Http404(f"There is no release with the id “{object_id}”.")
        return release

    def release_import_figures_view(self, request, object_id):
        release = self.release_or_404(request, object_id)
        if not self.can_import_into(request, release):
            raise PermissionDenied
        return self.figure_import_view(
            request,
            release=release,
            done_url=reverse("admin:statistics_release_change", args=[release.pk]),
            title=f"Import figures into {release.heading}",
        )

    def supplier_template_view(self, request, object_id):
        release = self.release_or_404(request, object_id)
        if not (self.has_view_or_change_permission(request, release) and can_import_figures(request)):
            raise PermissionDenied
        response = HttpResponse(supplier_template(release), content_type=XLSXFormat.CONTENT_TYPE)
        response["Content-Disposition"] = (
            f'attachment; filename="figures-{release.period_date.isoformat()}-template.xlsx"'
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        release = self.get_object(request, object_id)
        allowed = (
            can_import_figures(request) and release is not None and self.can_import_into(request, release)
        )
        extra_context = {**(extra_context or {}), "can_import_figures": allowed}
        return super().change_view(request, object_id, form_url, extra_context)
