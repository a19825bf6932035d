"""A pre-release access holder's personal copy: the release page and PDF, watermarked, inside the window.

Never cached anywhere (`private, no-store`), never indexed; every open and every refusal is logged
by `prerelease.open_link`. The page is the release as the public will see it at its time, with its
downloads replaced by the holder's own watermarked PDF; it compares with, and charts against, the
releases public now (`Release.objects.pre_release`), never another release before its second.

The emailed link opens a page with one button, "Open the release": mail systems that follow links
to check them (a GET) see only that page and are not counted as the person reading the release.
The button (a POST) sets a signed cookie for this link; the release and its PDF are shown, and
logged as opened, to a browser that holds it.
"""

from __future__ import annotations

import dataclasses

from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

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
    # The link is a secret: never sent to another site (this site gets it, so its form can post).
    response["Referrer-Policy"] = "same-origin"
    return response


def _refused(request, refused: prerelease.Refused):
    """A page that says why (the logs never name the link: newsroom.middleware.redact_secret_links)."""
    context = {
        "message": refused.message,
        "hours": prerelease.hours(),
        "breadcrumbs": [{"text": "Home", "href": "/"}],
    }
    return _private(render(request, "statistics/pre_release_refused.html", context, status=refused.status))


def _only(request, methods):
    """Other methods are refused before the link is looked at or logged."""
    if request.method not in methods:
        return _private(HttpResponseNotAllowed(methods))
    return None


COOKIE = "pre_release"
COOKIE_SALT = prerelease.SALT + ":asked-to-open"


def _asked_to_open(request, token: str) -> bool:
    """Whether this browser pressed "Open the release" for this link."""
    return request.get_signed_cookie(COOKIE, default=None, salt=COOKIE_SALT) == token


def _landing(request, grant, token: str):
    context = {
        "grant": grant,
        "publish_uk": ukclock.uk_label(grant.release.publish_at),
        "breadcrumbs": [{"text": "Home", "href": "/"}],
    }
    return _private(render(request, "statistics/pre_release_landing.html", context))


def _opened(request, grant, token: str):
    """The button: remember the choice for this link until publication, and show the release."""
    response = HttpResponseRedirect(prerelease.link_path(grant), status=303)
    seconds = max(1, int((grant.release.publish_at - timezone.now()).total_seconds()))
    response.set_signed_cookie(
        COOKIE,
        token,
        salt=COOKIE_SALT,
        max_age=seconds,
        path=f"/statistics/pre-release/{grant.release.period_date}/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return _private(response)


class PreReleaseView(ReleasePreviewView):
    """The release page for one pre-release access holder."""

    def dispatch(self, request, *args, **kwargs):
        if refusal := _only(request, ["GET", "POST"]):
            return refusal
        token = kwargs["token"]
        reading = request.method == "GET" and _asked_to_open(request, token)
        try:
            self.grant = prerelease.open_link(kwargs["period"], token, viewed="page", record=reading)
        except prerelease.Refused as refused:
            return _refused(request, refused)
        if request.method == "POST":
            return _opened(request, self.grant, token)
        if not reading:
            return _landing(request, self.grant, token)
        return _private(super(ReleasePreviewView, self).dispatch(request, *args, **kwargs))

    def page(self) -> dict:
        return self.build_page()  # one person's copy: rendered for them, never kept or served to another

    def get_queryset(self):
        return Release.objects.pre_release(self.grant.release).select_related("lead_contact")

    def get_object(self):
        return self.get_queryset().get(pk=self.grant.release_id)

    def build_page(self, **kwargs) -> dict:
        page = super().build_page(**kwargs)
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


@csrf_exempt  # only GET goes further (_only): POST and the rest get 405, not a CSRF 403
def pre_release_pdf(request, period, token):
    if refusal := _only(request, ["GET"]):
        return refusal
    reading = _asked_to_open(request, token)
    try:
        grant = prerelease.open_link(period, token, viewed="pdf", record=reading)
    except prerelease.Refused as refused:
        return _refused(request, refused)
    if not reading:
        return _landing(request, grant, token)
    release = grant.release
    visible = Release.objects.pre_release(release)
    document = build_release_document(release, visible=visible)
    summary = release_summary(document, release_trends(document, visible=visible), preview=True)
    content = pdf.release_pdf(dataclasses.replace(summary, notice=prerelease.notice(grant)))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="pre-release-deployment-statistics-{release.period_date:%Y-%m-%d}.pdf"'
    )
    return _private(response)
