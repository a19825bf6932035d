"""The embargo: walk every URL the site has and prove a scheduled release shows nowhere before its time.

The walker reads the URL resolver itself, so pages, feeds, downloads and APIs
added later are covered without touching this file. A URL pattern whose
parameters it cannot fill fails the test (unless listed in SKIPPED below).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import zipfile
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from contacts.models import MediaContact
from stats.models import Figure, Metric, Programme, Release
from stats.publishing import services

# Patterns deliberately not walked, with why. Everything else must be filled and fetched.
SKIPPED = {
    "admin/": "staff only, behind a login; the admin is tested on its own",
    "static/": "files, not data",
    "media/": "uploaded files, not data",
    "__debug__/": "development only",
}

# Distinctive figures and words of the embargoed release: none may appear anywhere before its time.
CANARY_FIGURES = {
    "eps-messages-total": 987_654_321,
    "cab-bookings-total": 23_456_789,
    "crs-summary-care-records": 1_357_913,
}
CANARY_WORDS = ("Quokka census", "Quokka summary")  # searched for by their parts only
FORMAT_WORDS = ("pdf", "csv", "xlsx", "json", "xml", "atom", "rss", "txt", "ics", "vcf", "svg", "html")
# Addresses for one person, not the public: staff previews, and personal pre-release links (the walk
# cannot know a link's token, so each answers with a refusal; tests/test_pre_release.py opens them).
PERSONAL = ("/statistics/preview/", "/statistics/pre-release/")
PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
PER_PATTERN_LIMIT = 400


def canaries() -> list[str]:
    texts = list(CANARY_WORDS)
    for value in CANARY_FIGURES.values():
        texts += [f"{value:,}", str(value)]
    return texts


@dataclass
class Template:
    """One URL pattern, flattened: its full route and the pieces to fill."""

    route: str
    pieces: list = field(default_factory=list)  # str literal, or (name, regex, converter)
    unfillable: str = ""


def _join(prefix: str, route: str) -> str:
    return route if not prefix else prefix + route.removeprefix("^")


def _regex_pieces(regex: str) -> tuple[list, str]:
    """A regex route as literal pieces and named groups, or a reason it cannot be filled."""
    text = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    pieces, literal, i = [], "", 0
    while i < len(text):
        if text.startswith("(?P<", i):
            name_end = text.index(">", i)
            depth, j = 1, name_end + 1
            while depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0) if text[j - 1] != "\\" else 0
                j += 1
            if literal:
                pieces.append(literal)
                literal = ""
            pieces.append((text[i + 4 : name_end], text[name_end + 1 : j - 1], None))
            i = j
            continue
        char = text[i]
        if char == "\\" and i + 1 < len(text) and not text[i + 1].isalnum():
            literal += text[i + 1]
            i += 2
            continue
        if char in "()[]{}*+?|^$\\.":
            return [], f"regex syntax {char!r} outside a named group"
        literal += char
        i += 1
    if literal:
        pieces.append(literal)
    return pieces, ""


def _route_pieces(pattern) -> tuple[list, str]:
    if hasattr(pattern, "_route"):
        route = str(pattern)
        pieces, last = [], 0
        for match in PARAM.finditer(route):
            if match.start() > last:
                pieces.append(route[last : match.start()])
            converter = pattern.converters[match["name"]]
            pieces.append((match["name"], converter.regex, converter))
            last = match.end()
        if last < len(route):
            pieces.append(route[last:])
        return pieces, ""
    return _regex_pieces(pattern.regex.pattern)


def url_templates(patterns=None, prefix: str = "", pieces: tuple = ()) -> list[Template]:
    """Every endpoint in the resolver, recursively."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    found = []
    for entry in patterns:
        route = _join(prefix, str(entry.pattern))
        own, problem = _route_pieces(entry.pattern)
        if isinstance(entry, URLResolver):
            if problem:
                found.append(Template(route, [], problem))
                continue
            found += url_templates(entry.url_patterns, route, pieces + tuple(own))
        elif isinstance(entry, URLPattern):
            found.append(Template(route, list(pieces + tuple(own)), problem))
    return found


def skip_reason(template: Template) -> str:
    for prefix, reason in SKIPPED.items():
        if template.route.removeprefix("^").startswith(prefix):
            return reason
    return ""


def candidate_values(release: Release) -> list:
    """Everything a path parameter might be: dates, years, ids, slugs and format names."""
    values: list = [release.period_date, *Release.objects.values_list("period_date", flat=True)]
    values += [release.pk, release.period_date.year, 1]
    values += list(Programme.objects.values_list("slug", flat=True))
    values += list(Metric.objects.values_list("slug", flat=True))
    values += list(MediaContact.objects.values_list("slug", flat=True))
    values += list(FORMAT_WORDS)
    return values


def _fits(value, regex: str, converter) -> str | None:
    try:
        text = str(converter.to_url(value) if converter is not None else value)
    except (ValueError, TypeError, AttributeError):
        return None
    if not re.fullmatch(regex, text):
        return None
    if converter is not None:
        try:
            converter.to_python(text)
        except (ValueError, TypeError):
            return None
    return text


def fill(template: Template, values: list) -> list[str]:
    """Concrete paths that resolve back to this very pattern."""
    choices = []
    for piece in template.pieces:
        if isinstance(piece, str):
            choices.append([piece])
            continue
        _, regex, converter = piece
        fitting = list(dict.fromkeys(t for v in values if (t := _fits(v, regex, converter)) is not None))
        if not fitting:
            return []
        choices.append(fitting)
    paths = []
    for combo in itertools.islice(itertools.product(*choices), PER_PATTERN_LIMIT):
        path = "/" + "".join(combo)
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if match.route == template.route:
            paths.append(path)
    return paths


def readable(response) -> str:
    """What a reader of the response sees, whatever its format (HTML, CSV, JSON, PDF, XLSX, ZIP)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return readable_content(content, response.get("Content-Type", ""))


def readable_content(content: bytes, kind: str) -> str:
    if content.startswith(b"PK") and "spreadsheet" not in kind:
        archive = zipfile.ZipFile(io.BytesIO(content))
        if "xl/workbook.xml" not in archive.namelist():  # a zip of files: each as its reader sees it
            return "\n".join(readable_content(archive.read(name), "") for name in archive.namelist())
    if content.startswith(b"%PDF"):
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(content))
        return "\n".join(page.extract_text() or "" for page in reader.pages) + str(reader.metadata or "")
    if content.startswith(b"PK") or "spreadsheet" in kind:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            " ".join("" if cell is None else str(cell) for cell in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    return content.decode("utf-8", errors="replace")


def walk(client, paths: list[str]) -> dict[str, tuple[int, str]]:
    """Fetch each path as the public would; search-like pages also get the canaries as a query."""
    seen = {}
    for path in paths:
        cache.clear()  # cached pages would hide what the server would say now
        response = client.get(path)
        seen[path] = (response.status_code, readable(response))
        if "search" in path:
            # Words from the embargoed text, but never a whole canary: the page may echo the query.
            for word in ("census", "summary", "prescription messages", "Quokka"):
                response = client.get(path, {"q": word})
                seen[f"{path}?q={word}"] = (response.status_code, readable(response))
    return seen


def leaks(text: str) -> list[str]:
    return [canary for canary in canaries() if canary in text]


@pytest.fixture
def scheduled(seed_release, press_officer, publisher):
    """Next week's release, put through the real workflow and scheduled an hour from now."""
    release = services.start_next_release(source=seed_release, by=press_officer)
    for slug, value in CANARY_FIGURES.items():
        Figure.objects.filter(release=release, metric__slug=slug).update(value=value)
    release.summary = "Quokka summary: nearly a billion prescription messages."
    release.save(update_fields=["summary"])
    factories_statement = release.statements.first()
    factories_statement.pk = None
    factories_statement.text = "Quokka census: {eps-messages-total} messages."
    factories_statement.save()
    services.confirm_figures(release=release, by=press_officer)
    services.submit_release(release=release, by=press_officer, acknowledge_warnings=True)
    services.approve_release(
        release=release,
        by=publisher,
        publish_at=timezone.now() + dt.timedelta(hours=1),
        acknowledge_warnings=True,
    )
    release.refresh_from_db()
    assert release.status == Release.Status.SCHEDULED and not release.is_public
    return release


def test_walker_reads_route_and_regex_patterns():
    from django.urls import path, re_path

    def view(request):
        return None

    templates = url_templates(
        [path("a/<int:pk>/", view), re_path(r"^b/(?P<year>[0-9]{4})\.json$", view), re_path(r"^c/.*$", view)]
    )
    assert [t.route for t in templates] == ["a/<int:pk>/", r"^b/(?P<year>[0-9]{4})\.json$", "^c/.*$"]
    assert templates[1].pieces == ["b/", ("year", "[0-9]{4}", None), ".json"]
    assert templates[2].unfillable  # "c/.*" cannot be filled: it would fail the walk, by name


def test_a_scheduled_release_appears_nowhere_before_its_time_and_where_expected_after(client, scheduled):
    templates = url_templates()
    values = candidate_values(scheduled)
    skipped, unfilled, paths = [], [], []
    for template in templates:
        if reason := skip_reason(template):
            skipped.append(f"{template.route} ({reason})")
            continue
        filled = fill(template, values) if not template.unfillable else []
        if not filled:
            unfilled.append(f"{template.route} {template.unfillable}".strip())
        paths += filled
    assert not unfilled, (
        "The embargo walk cannot fill these URL patterns; give it candidate values "
        f"or list them in SKIPPED with a reason: {unfilled}"
    )
    assert "/statistics/calendar/" in paths and "/statistics/revisions/" in paths

    before = walk(client, paths)
    leaked = {path: leaks(text) for path, (_, text) in before.items() if leaks(text)}
    assert not leaked, f"Embargoed figures leaked before publish time: {leaked}"
    # The calendar announces the date (but never a figure).
    assert "10 March 2010" in before["/statistics/calendar/"][1]

    # Time passes: the publish time is now a minute ago. No job runs; the one queryset lets it through.
    Release.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - dt.timedelta(minutes=1))
    after = walk(client, paths)
    # Expected: every public URL that takes this release's date, and the latest release.
    expected = [
        p for p in paths if scheduled.period_date in resolve(p).kwargs.values() and not p.startswith(PERSONAL)
    ] + [reverse("statistics:release-latest")]
    missing = {p: after[p][0] for p in expected if after[p][0] != 200 or not leaks(after[p][1])}
    assert not missing, f"Published figures missing where expected (path: status): {missing}"
    shown = sorted(p for p, (_, text) in after.items() if leaks(text))
    assert set(expected) <= set(shown)
    # Still never on the calendar.
    assert not leaks(after["/statistics/calendar/"][1])
    by_reason = {reason: sum(1 for s in skipped if s.endswith(f"({reason})")) for reason in SKIPPED.values()}
    print(
        f"walked {len(paths)} paths; skipped deliberately (patterns per reason): {by_reason}; "
        f"shown on {shown}"
    )


def test_a_withdrawn_or_cancelled_release_disappears_everywhere(client, scheduled, publisher):
    Release.objects.filter(pk=scheduled.pk).update(publish_at=timezone.now() - dt.timedelta(minutes=1))
    assert client.get(f"/statistics/{scheduled.period_date}/").status_code == 200
    services.withdraw_release(release=scheduled, by=publisher, reason="Supplier figures were wrong.")
    paths = [p for t in url_templates() if not skip_reason(t) for p in fill(t, candidate_values(scheduled))]
    leaked = {path: leaks(text) for path, (_, text) in walk(client, paths).items() if leaks(text)}
    assert not leaked
    # Its permanent address stays, saying it was withdrawn and why, without a figure.
    response = client.get(f"/statistics/{scheduled.period_date}/")
    assert response.status_code == 410
    page = response.content.decode()
    assert "This release has been withdrawn" in page and "Supplier figures were wrong." in page


def test_a_correction_reaches_every_page_and_download_of_the_release_and_updates_feeds(
    client, seed_release, publisher
):
    """Walks the same URLs: the new value is wherever the release is, and feeds show an update."""
    paths = [
        p for t in url_templates() if not skip_reason(t) for p in fill(t, candidate_values(seed_release))
    ]
    before = walk(client, paths)
    figure = Figure.objects.get(release=seed_release, metric__slug="eps-messages-total")
    services.correct_figure(
        figure=figure, by=publisher, value=306_774_399, reason="Quokka batch arrived late."
    )
    after = walk(client, paths)
    of_release = [
        p
        for p in paths
        if seed_release.period_date in resolve(p).kwargs.values() and not p.startswith(PERSONAL)
    ]
    of_release.append(reverse("statistics:release-latest"))
    stale = [p for p in of_release if "306,774,399" not in after[p][1] and "306774399" not in after[p][1]]
    assert not stale, f"Corrected figure missing from: {stale}"
    for path in (
        reverse("statistics:release-detail", args=[seed_release.period_date]),
        "/statistics/revisions/",
    ):
        assert "Quokka batch arrived late." in after[path][1]
    feeds = [p for p in paths if "<feed" in before[p][1] or "<rss" in before[p][1]]
    assert all(after[p][1] != before[p][1] for p in feeds), (
        "A feed did not show the corrected release as updated"
    )
