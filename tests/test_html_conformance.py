"""Every page the public reads, and every admin page press officers and publishers use, is valid HTML.

The pages are fetched with the test client from a site with history, a correction, an explanation, a
withdrawn, a cancelled and a moved release, a draft, a release in review and a scheduled one with
pre-release access; the Nu Html Checker (node_modules/vnu-jar, run with Java) then reads them all
at once. Without Java or the checker the test skips, unless REQUIRE_BROWSER=1 (as in CI).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import NoReverseMatch, Resolver404, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = os.environ.get("JAVA", "java")

# Warnings treated as errors: ARIA that repeats what the element already says, and SVG versions.
FORBIDDEN_WARNINGS = ("role is unnecessary for element", "Unsupported SVG version")

# Public addresses that answer with something other than an HTML page: every other one is checked.
NOT_PAGES = {
    *("statistics:release-download", "statistics:metric-download", "statistics:data-csv"),
    *("statistics:release-download-excel", "statistics:metric-download-excel", "statistics:data-csv-excel"),
    *("statistics:release-pdf", "statistics:programme-pdf", "statistics:pre-release-pdf"),
    *("statistics:release-csvw", "statistics:metric-csvw", "statistics:data-csvw"),
    *("statistics:release-zip", "statistics:metric-zip", "statistics:release-calendar-ics"),
    *("feed", "django.contrib.sitemaps.views.sitemap", "robots", "healthz"),
    *("api:releases", "api:release", "api:metrics", "api:metric", "api:openapi"),
    *("contacts:contact-vcard-all", "contacts:contact-vcard"),
}

PERSON = {
    "name": "Rowan Example",
    "job_title": "Head of briefing",
    "organisation": "Department of Examples",
    "email": "rowan@example.org",
    "reason": "Briefing the minister before publication.",
}


def _unavailable() -> str | None:
    """Why the checker cannot run here, or None."""
    if not shutil.which(JAVA):
        return f"No Java ({JAVA}) for the Nu Html Checker: `apt-get install -y default-jre-headless`."
    if not VNU.exists():
        return f"No Nu Html Checker at {VNU.relative_to(ROOT)}: run `npm ci` (or `make install`)."
    return None


@pytest.fixture
def vnu():
    reason = _unavailable()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but the HTML checker cannot run: {reason}")
        pytest.skip(reason)
    return VNU


@dataclass
class Page:
    kind: str
    url: str
    html: str


class Pages:
    """The pages fetched so far, each under the kind of page it is."""

    def __init__(self):
        self.pages: list[Page] = []

    def add(self, kind: str, response, url: str, *, status: int = 200) -> None:
        assert response.status_code == status, f"{kind} {url}: {response.status_code}, not {status}"
        assert response["Content-Type"].startswith("text/html"), f"{kind} {url}: {response['Content-Type']}"
        self.pages.append(Page(kind, url, response.content.decode()))

    def get(self, client, kind: str, url: str, *, status: int = 200, **extra) -> None:
        self.add(kind, client.get(url, **extra), url, status=status)

    def post(self, client, kind: str, url: str, data, *, status: int = 200) -> None:
        self.add(kind, client.post(url, data), f"POST {url}", status=status)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for page in self.pages:
            counts[page.kind] = counts.get(page.kind, 0) + 1
        return counts


# --- the site to read ---------------------------------------------------------------------------


@dataclass
class World:
    seed: object
    oldest: object
    published: object
    withdrawn: object
    draft: object
    in_review: object
    scheduled: object
    cancelled: object
    grant: object


def build_world(seed_release, press_officer, publisher) -> World:
    """History, and a release in each state the site shows, put through the real workflow."""
    from stats.demo.history import generate_history
    from stats.models import Figure, Release
    from stats.publishing import corrections, prerelease, services

    history = generate_history(weeks=10)  # back into December 2009: two years in the archive
    oldest = min(history, key=lambda r: r.period_date)

    def started(source, period, *, confirm=True):
        release = services.start_next_release(source=source, by=press_officer, period_date=period)
        if confirm:
            services.confirm_figures(release=release, by=press_officer)
        return release

    def scheduled_in(release, delta):
        services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
        services.approve_release(
            release=release,
            by=publisher,
            publish_at=timezone.now() + delta,
            date_change_reason="Moved to the morning.",
            acknowledge_warnings=True,
        )
        release.refresh_from_db()
        return release

    # w/c 10 March: a fall explained before publication, pre-release access and a breach of it,
    # public an hour ago, then corrected.
    published = started(seed_release, dt.date(2010, 3, 10), confirm=False)
    Figure.objects.filter(release=published, metric__slug="eps-messages-total").update(
        value=Decimal(306_000_000)
    )
    services.confirm_figures(release=published, by=press_officer)
    services.explain_figure(
        release=published,
        by=press_officer,
        metric_slug="eps-messages-total",
        reason="A supplier's duplicate messages were removed from the count.",
    )
    scheduled_in(published, dt.timedelta(hours=1))
    prerelease.grant_access(release=published, by=publisher, **PERSON)  # listed once it is out
    Release.objects.filter(pk=published.pk).update(
        status=Release.Status.PUBLISHED, publish_at=timezone.now() - dt.timedelta(hours=1)
    )
    published.refresh_from_db()
    prerelease.record_breach(release=published, by=publisher, explanation="A figure was quoted early.")
    figure = Figure.objects.get(release=published, metric__slug="eps-messages-total")
    corrections.correct_figure(
        figure=figure, by=publisher, value=Decimal(306_500_000), reason="A late supplier return."
    )

    # A week of the history withdrawn.
    withdrawn = sorted(history, key=lambda r: r.period_date)[-3]
    services.withdraw_release(release=withdrawn, by=publisher, reason="The figures were counted twice.")

    # Coming releases: a draft, one in review, one scheduled (with pre-release access), one cancelled.
    draft = started(published, dt.date(2010, 3, 17), confirm=False)
    in_review = started(published, dt.date(2010, 3, 24))
    services.submit_release(release=in_review, by=press_officer, acknowledge_warnings=True)
    scheduled = scheduled_in(started(published, dt.date(2010, 3, 31)), dt.timedelta(hours=2))
    services.change_release_date(
        release=scheduled,
        by=publisher,
        publish_at=scheduled.publish_at + dt.timedelta(hours=1),
        reason="To follow the minister's statement.",
    )
    scheduled.refresh_from_db()
    grant = prerelease.grant_access(release=scheduled, by=publisher, **PERSON)
    cancelled = started(published, dt.date(2010, 4, 7))
    services.change_release_date(
        release=cancelled,
        by=publisher,
        publish_at=timezone.now() + dt.timedelta(days=3),
        reason="The supplier asked for more time.",
        confirm=True,
    )
    services.cancel_release(release=cancelled, by=publisher, reason="The supplier's data did not arrive.")
    for release in (draft, in_review, scheduled, cancelled, withdrawn):
        release.refresh_from_db()
    return World(
        seed=seed_release,
        oldest=oldest,
        published=published,
        withdrawn=withdrawn,
        draft=draft,
        in_review=in_review,
        scheduled=scheduled,
        cancelled=cancelled,
        grant=grant,
    )


# --- the public site ------------------------------------------------------------------------------


def site_pages(pages: Pages, client, world: World) -> None:
    """Releases of each kind, their lists, the trends, the calendar and the site's own pages."""
    from contacts.models import MediaContact
    from stats.models import Metric, Programme

    pages.get(client, "home", "/")
    pages.get(client, "release", reverse("statistics:release-latest"))
    for release in (world.published, world.seed, world.oldest):
        pages.get(client, "release", release.get_absolute_url())
    pages.get(client, "release (withdrawn)", world.withdrawn.get_absolute_url(), status=410)
    pages.get(client, "archive", reverse("statistics:archive"))
    pages.get(client, "archive", reverse("statistics:archive-year", args=[world.oldest.period_date.year]))
    pages.get(client, "revisions", reverse("statistics:revision-list"))
    pages.get(client, "calendar", reverse("statistics:release-calendar"))
    pages.get(client, "compliance", reverse("statistics:compliance"))
    pages.get(client, "API docs", reverse("api-docs"))
    for programme in Programme.objects.all():
        pages.get(client, "programme", reverse("statistics:programme-detail", args=[programme.slug]))
    for metric in Metric.objects.all():
        pages.get(client, "metric", reverse("statistics:metric-detail", args=[metric.slug]))
    metric = reverse("statistics:metric-detail", args=["eps-messages-total"])
    pages.get(client, "metric", f"{metric}?page=2")
    pages.get(client, "metric", f"{metric}?sort=-value")

    contacts = reverse("contacts:contact-list")
    name = MediaContact.objects.first().name.split()[0]
    programme = Programme.objects.first().slug
    for query in ("", f"?q={name}", "?q=zzqqxx", f"?programme={programme}", "?programme=no-such-programme"):
        pages.get(client, "contacts", contacts + query)
    for query in ("", "?q=prescription", "?q=zzqqxx"):
        pages.get(client, "search", reverse("search") + query)


def alert_pages(pages: Pages, client, settings) -> None:
    """Email alerts: the form (empty, refused, too many), and each page a link in an email opens."""
    from alerts import tokens
    from stats.models import Programme
    from tests.alerting import subscriber

    subscribe = reverse("alerts:subscribe")
    pages.get(client, "subscribe", subscribe)
    pages.post(client, "subscribe", subscribe, {"email": "not an address"})
    pages.get(client, "subscribe", reverse("alerts:check-email"))
    settings.NEWSROOM_SUBSCRIBE_PER_ADDRESS = 1
    asking = {"email": "twice@example.org", "every_release": "on"}
    assert client.post(subscribe, asking).status_code == 302
    pages.post(client, "subscribe (too many)", subscribe, asking, status=429)

    new = subscriber("new@example.org", confirmed=False, every_release=True)
    pages.get(client, "subscribe", reverse("alerts:confirm", args=[tokens.make(new, tokens.CONFIRM)]))
    programme = Programme.objects.first().slug
    reader = subscriber("reader@example.org", every_release=True, programmes=[programme])
    pages.get(client, "subscribe", reverse("alerts:confirm", args=[tokens.make(reader, tokens.CONFIRM)]))
    manage = reverse("alerts:manage", args=[tokens.make(reader, tokens.MANAGE)])
    pages.get(client, "subscribe", manage)
    pages.post(client, "subscribe", manage, {})  # no topic chosen: the error summary
    pages.get(client, "subscribe", f"{manage}?saved=1")
    unsubscribe = reverse("alerts:unsubscribe", args=[tokens.make(reader, tokens.UNSUBSCRIBE)])
    pages.get(client, "subscribe", unsubscribe)
    pages.post(client, "subscribe", unsubscribe, {})
    pages.get(client, "subscribe", manage)  # unsubscribed: offered the form again
    pages.get(client, "subscribe (link problem)", reverse("alerts:manage", args=["no-such-link"]), status=404)


def pre_release_and_error_pages(pages: Pages, client, world: World) -> None:
    """Pre-release access (landing page, copy, refusal), and the 404, 500 and 503 pages."""
    from newsroom import views as site_views
    from stats.publishing import prerelease

    link = prerelease.link_path(world.grant)
    pages.get(client, "pre-release", link)
    assert client.post(link).status_code == 303
    pages.get(client, "pre-release", link)
    refused = reverse("statistics:pre-release", args=[world.scheduled.period_date, "not-a-token"])
    pages.get(client, "pre-release (refused)", refused, status=404)

    pages.get(client, "error", "/no-such-page/", status=404)
    pages.get(client, "error", "/statistics/2001-01-01/", status=404)
    request = RequestFactory().get("/")
    pages.add("error", site_views.server_error(request), "500", status=500)
    pages.add("error", site_views.database_unavailable(request), "503", status=503)


# --- the admin, as press officers and publishers use it ---------------------------------------------


def workflow_admin_pages(pages: Pages, clients: dict, world: World) -> None:
    """Each person's index, release list, release pages, their history, preview and every step offered."""
    from stats.admin.workflow import available_actions

    releases = (
        world.draft,
        world.in_review,
        world.scheduled,
        world.cancelled,
        world.published,
        world.withdrawn,
    )
    for client, user in clients.values():
        pages.get(client, "admin index", reverse("admin:index"))
        releases_url = reverse("admin:statistics_release_changelist")
        pages.get(client, "release list", releases_url)
        pages.get(client, "release list", releases_url + "?status__exact=draft")
        for release in releases:
            pages.get(client, "release page", reverse("admin:statistics_release_change", args=[release.pk]))
            for view in ("history", "changes", "full_history"):
                pages.get(client, "history", reverse(f"admin:statistics_release_{view}", args=[release.pk]))
            for action in available_actions(release, user):
                slug = action.slug.replace("-", "_")
                pages.get(client, "workflow", reverse(f"admin:statistics_release_{slug}", args=[release.pk]))
            pages.get(client, "preview", reverse("statistics:release-preview", args=[release.pk]))


def editing_admin_pages(pages: Pages, officer, world: World) -> None:
    """A press officer's forms: a new release, a draft's figure and statement, a refused step."""
    from stats.models import Figure, Statement

    add = reverse("admin:statistics_release_add")
    pages.get(officer, "release page", add)
    pages.post(officer, "release page", add, {"period_date": "not a date"})
    figure = Figure.objects.filter(release=world.draft).first()
    pages.get(officer, "release page", reverse("admin:statistics_figure_change", args=[figure.pk]))
    statement = Statement.objects.filter(release=world.draft).first()
    pages.get(officer, "release page", reverse("admin:statistics_statement_change", args=[statement.pk]))
    submit = reverse("admin:statistics_release_submit", args=[world.draft.pk])
    pages.post(officer, "workflow", submit, {"version": 0})  # stale: the page again, saying why


def import_admin_pages(pages: Pages, officer, world: World) -> None:
    """Figure imports, into a draft and for the figure list: the upload, a refused file, the preview."""
    for url in (
        reverse("admin:statistics_release_import_figures", args=[world.draft.pk]),
        reverse("admin:statistics_figure_import"),
    ):
        pages.get(officer, "figure import", url)
        bad = SimpleUploadedFile("figures.csv", b"period,metric_slug,value\n2010-03-17,no-such-metric,1\n")
        pages.post(officer, "figure import", url, {"import_file": bad, "reason": ""})
        good = b'period,metric_slug,value\n2010-03-17,eps-messages-total,"310,000,000"\n'
        response = officer.post(url, {"import_file": SimpleUploadedFile("figures.csv", good), "reason": ""})
        assert response.context["confirm_form"] is not None, response.context.get("problems")
        pages.add("figure import", response, f"POST {url} (preview)")


def ledger_admin_pages(pages: Pages, publisher, world: World) -> None:
    """A publisher's corrections list and pre-release ledger: the list, a grant, the form to grant."""
    from stats.models import Correction

    pages.get(publisher, "corrections", reverse("admin:statistics_correction_changelist"))
    correction = Correction.objects.first()
    pages.get(publisher, "corrections", reverse("admin:statistics_correction_change", args=[correction.pk]))
    pages.get(publisher, "pre-release grants", reverse("admin:statistics_prereleasegrant_changelist"))
    pages.get(publisher, "pre-release grants", reverse("admin:statistics_prereleasegrant_add"))
    grant = reverse("admin:statistics_prereleasegrant_change", args=[world.grant.pk])
    pages.get(publisher, "pre-release grants", grant)


def every_admin_page(pages: Pages, client, superuser) -> None:
    """Every model's list, add form, first object, its history, and import and export pages."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        kind = f"admin {opts.app_label}.{opts.model_name}"
        urls = [reverse(f"{base}_changelist")]
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{base}_add"))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            urls += [reverse(f"{base}_change", args=[obj.pk]), reverse(f"{base}_history", args=[obj.pk])]
        for action in ("import", "export"):
            with contextlib.suppress(NoReverseMatch):
                urls.append(reverse(f"{base}_{action}"))
        for url in urls:
            pages.get(client, kind, url)
    pages.get(client, "admin index", reverse("admin:index"))
    pages.get(client, "admin password", reverse("admin:password_change"))


def admin_pages(pages: Pages, world: World, press_officer, publisher, superuser) -> None:
    from django.test import Client

    anonymous = Client()
    pages.get(anonymous, "admin sign-in", reverse("admin:login"))
    pages.post(anonymous, "admin sign-in", reverse("admin:login"), {"username": "pat", "password": "wrong"})
    clients = {}
    for user in (press_officer, publisher, superuser):
        clients[user.username] = (Client(), user)
        clients[user.username][0].force_login(user)
    officer, publishing, boss = (clients[user.username][0] for user in (press_officer, publisher, superuser))
    workflow_admin_pages(pages, {name: clients[name] for name in ("pat", "sam")}, world)
    editing_admin_pages(pages, officer, world)
    import_admin_pages(pages, officer, world)
    ledger_admin_pages(pages, publishing, world)
    every_admin_page(pages, boss, superuser)


def public_view_names(resolver=None, namespace="") -> set[str]:
    """Every named address of the site outside the admin, as "namespace:name"."""
    names = set()
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace != "admin":
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                names |= public_view_names(pattern, inner)
        elif pattern.name:
            names.add(namespace + pattern.name)
    return names


def view_names(pages: list[Page]) -> set[str]:
    names = set()
    for page in pages:
        path = urlsplit(page.url.removeprefix("POST ")).path
        with contextlib.suppress(Resolver404):
            names.add(resolve(path).view_name)
    return names


# --- the checker ------------------------------------------------------------------------------


def check(vnu: Path, pages: list[Page], folder: Path) -> list[dict]:
    """The checker's messages for every page, read in one run; each names its page."""
    names = {}
    folder.mkdir(exist_ok=True)
    index = {f"page-{number:04d}.html": f"{page.kind} {page.url}" for number, page in enumerate(pages)}
    (folder.parent / "pages.json").write_text(json.dumps(index, indent=1))  # to read a failure by
    for number, page in enumerate(pages):
        path = folder / f"page-{number:04d}.html"
        path.write_text(page.html, encoding="utf-8")
        names[path.resolve().as_uri()] = page
        names[str(path.resolve())] = page
    result = subprocess.run(
        [JAVA, "-jar", str(vnu), "--format", "json", "--stdout", "--exit-zero-always", str(folder)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    messages = json.loads(result.stdout)["messages"]
    for message in messages:
        url = message.get("url", "")
        page = (
            names.get(url) or names.get(url.removeprefix("file:")) or names.get(url.removeprefix("file://"))
        )
        message["page"] = page
    return messages


def described(message: dict) -> str:
    page = message["page"]
    where = f"{page.kind} {page.url}" if page else message.get("url", "?")
    extract = (message.get("extract") or "").strip().replace("\n", " ")
    return f"{where}, line {message.get('lastLine', '?')}: {message['message']}\n    {extract[:160]}"


def test_every_page_passes_the_nu_html_checker(
    vnu, tmp_path, client, settings, seed_release, press_officer, publisher, superuser
):
    world = build_world(seed_release, press_officer, publisher)
    pages = Pages()
    site_pages(pages, client, world)
    alert_pages(pages, client, settings)
    pre_release_and_error_pages(pages, client, world)
    admin_pages(pages, world, press_officer, publisher, superuser)

    unchecked = public_view_names() - NOT_PAGES - view_names(pages.pages)
    assert not unchecked, (
        f"Public pages not checked (fetch one, or name it in NOT_PAGES): {sorted(unchecked)}"
    )

    messages = check(vnu, pages.pages, tmp_path / "pages")
    errors = [m for m in messages if m["type"] in ("error", "non-document-error")]
    warnings = [m for m in messages if any(text in m["message"] for text in FORBIDDEN_WARNINGS)]
    by_kind = pages.kinds()
    failing: dict[str, int] = {}
    for message in errors + warnings:
        kind = message["page"].kind if message["page"] else "?"
        failing[kind] = failing.get(kind, 0) + 1
    summary = f"Nu Html Checker: {len(pages.pages)} pages checked, {len(errors)} errors, " + (
        f"{len(warnings)} redundant-role or SVG-version warnings"
    )
    print("\n" + summary)
    for kind, count in sorted(by_kind.items()):
        print(f"  {kind}: {count} pages, {failing.get(kind, 0)} errors")
    report = "\n".join(described(m) for m in errors + warnings)
    assert not errors and not warnings, f"{summary}\n{report}"
