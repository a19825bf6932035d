"""A pre-release access holder's personal copy: the release page and PDF, watermarked, inside the window.

Never cached anywhere (`private, no-store`), never indexed; every open and every refusal is logged
by `prerelease.open_link`. The page is the release as the public will see it at its time, with its
downloads replaced by the holder's own watermarked PDF.
"""

from __future__ import annotations

import dataclasses

from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render

from stats.models import Release
from stats.outputs import pdf
from stats.outputs.pdfs import release_summary, release_trends
from stats.publishing import prerelease
from stats.selectors import build_release_document
from stats.views.pages import Download, ReleasePreviewView
from stats.wording import ukclock


def _private(response):
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"  # the link is a secret: never sent on to another site
    return response


def _refused(request, refused: prerelease.Refused):
    """A page that says why; not in Django's request log either, which would name the link."""
    context = {
        "message": refused.message,
        "hours": prerelease.hours(),
        "breadcrumbs": [{"text": "Home", "href": "/"}],
    }
    response = _private(
        render(request, "statistics/pre_release_refused.html", context, status=refused.status)
    )
    response._has_been_logged = True
    return response


def _only_get(request):
    """Only a GET reads the release: anything else is refused before the link is looked at or logged."""
    if request.method != "GET":
        response = HttpResponseNotAllowed(["GET"])
        response._has_been_logged = True
        return _private(response)
    return None


class PreReleaseView(ReleasePreviewView):
    """The release page for one pre-release access holder."""

    def dispatch(self, request, *args, **kwargs):
        if refusal := _only_get(request):
            return refusal
        try:
            self.grant = prerelease.open_link(kwargs["period"], kwargs["token"], viewed="page")
        except prerelease.Refused as refused:
            return _refused(request, refused)
        return _private(super(ReleasePreviewView, self).dispatch(request, *args, **kwargs))

    def page(self) -> dict:
        return self.build_page()  # one person's copy: never from or into the public fragment cache

    def get_queryset(self):
        return Release.objects.as_published(self.grant.release).select_related("lead_contact")

    def get_object(self):
        return self.get_queryset().get(pk=self.grant.release_id)

    def build_page(self) -> dict:
        page = super().build_page()
        page["heading"] = f"{page['heading']} (pre-release access)"
        return page

    def body_context(self, release) -> dict:
        return {
            "is_preview": True,
            "pre_release_notice": prerelease.notice(self.grant),
            "preview_publish_uk": ukclock.uk_label(release.publish_at),
            # Only the holder's own copy: the public files do not exist yet.
            "downloads": [
                Download(
                    "Release summary, watermarked for you",
                    prerelease.link_path(self.grant, pdf=True),
                    "PDF",
                    None,
                )
            ],
        }


def pre_release_pdf(request, period, token):
    if refusal := _only_get(request):
        return refusal
    try:
        grant = prerelease.open_link(period, token, viewed="pdf")
    except prerelease.Refused as refused:
        return _refused(request, refused)
    release = grant.release
    visible = Release.objects.as_published(release)
    document = build_release_document(release, visible=visible)
    summary = release_summary(document, release_trends(document, visible=visible), preview=True)
    content = pdf.release_pdf(dataclasses.replace(summary, notice=prerelease.notice(grant)))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="pre-release-deployment-statistics-{release.period_date:%Y-%m-%d}.pdf"'
    )
    return _private(response)
