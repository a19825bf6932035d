"""Reading every public output as an anonymous reader would, through the test client, into facts;
and the checker that compares them after each step of the simulation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.core import mail
from django.test import Client
from django.utils import timezone
from freezegun import api as freezegun_api

from . import parsers
from .facts import STEPS, Comparison, Fact, Facts, Mismatch, compare
from .record import Record
from .wording import UK

# What each output must state about every public release it covers (its figures by their value, and
# so on): an output that stops stating a fact, because its layout changed or the fact went
# missing, is a failure too, never a comparison quietly skipped.
RELEASE_OUTPUTS = ("page", "PDF", "API", "JSON download", "CSV", "XLSX", "zip")
REQUIRED_FIGURE_FACTS = {name: ("value",) for name in RELEASE_OUTPUTS} | {
    "page": ("value", "wording", "change", "as_of"),
    "PDF": ("value", "wording", "change", "as_of"),
    "API": ("value", "wording", "change", "as_of", "qualifier", "revisions"),
}
REQUIRED_RELEASE_FACTS = {
    "page": ("version", "corrections", "explanations", "published", "pre-release"),
    "PDF": ("corrections", "explanations", "published"),
    "API": ("version", "corrections", "explanations", "published", "pre-release"),
    "JSON download": ("version", "corrections", "explanations"),
    "JSON-LD": ("version",),
    "zip": ("version", "corrections"),
    "CSVW": ("corrections",),
    "revisions page": ("corrections",),
}
REQUIRED_SITE_FACTS = {
    "home page": ("next release", "latest release"),
    "latest release page": ("next release", "latest release"),
    "calendar page": ("next release",),
    "calendar .ics": ("next release",),
    "archive": ("public releases",),
    "API release list": ("public releases",),
}
NOT_STATED = "(not stated)"

# What an `?as_of=` vintage must state as the page stated it at the end of that day.
VINTAGE_FIGURE_FACTS = ("value", "as_of")
VINTAGE_RELEASE_FACTS = ("version", "corrections")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


class Reader:
    """Every public output, fetched and parsed. Outputs are named as a reader would name them.

    Every output is fetched each time; the same bytes are parsed once (a parser's facts depend on
    nothing else), which keeps reading a release's unchanged PDF after every step cheap.
    """

    def __init__(self, client: Client | None = None):
        self.client = client or Client()
        self.fetched = 0
        self.parsed: dict[tuple, Facts] = {}

    def get(self, path: str, status: int | None = 200):
        response = self.client.get(path)
        self.fetched += 1
        if status is not None:
            assert response.status_code == status, f"{path}: {response.status_code}"
        return response

    def archive(self) -> bytes:
        """The archive's first page (the latest year) and, through its links, every other year's."""
        first = self.get("/statistics/archive/").content
        others = re.findall(rb'href="(/statistics/archive/\d{4}/)">', first)  # not the one it shows
        return first + b"".join(self.get(url.decode()).content for url in others)

    def api_release_list(self) -> dict:
        """Every page of the API's release list, followed through `links.next` as a reuser would."""
        releases, url = [], "/api/v1/releases/"
        while url:
            data = json.loads(self.get(url).content)
            releases += data["releases"]
            url = data["links"]["next"]
        return {**data, "releases": releases}

    def parse(self, parser, content, **options) -> Facts:
        raw = content if isinstance(content, bytes) else json.dumps(content, sort_keys=True).encode()
        key = (parser.__name__, hashlib.sha256(raw).hexdigest(), repr(sorted(options.items())))
        if key not in self.parsed:
            self.parsed[key] = parser(content, **options)
        return self.parsed[key]

    def release(self, period: str, *, explanations) -> dict[str, Facts]:
        """A public release's page (and the JSON-LD in it), PDF, CSV, XLSX, JSON, API, zip and CSVW."""
        page = self.get(f"/statistics/{period}/").content
        api = json.loads(self.get(f"/api/v1/releases/{period}/").content)
        names = {f["metric_name"]: f["metric_slug"] for p in api["programmes"] for f in p["figures"]}
        explained = tuple(explanations)
        return {
            "page": self.parse(parsers.release_page, page, explanations=explained),
            "JSON-LD": self.parse(parsers.json_ld, page),
            "API": self.parse(parsers.release_json, api, explanations=explained),
            "PDF": self.parse(
                parsers.pdf_release,
                body(self.get(f"/statistics/{period}.pdf")),
                names=names,
                explanations=explained,
            ),
            "CSV": self.parse(parsers.csv_figures, body(self.get(f"/statistics/{period}.csv"))),
            "XLSX": self.parse(parsers.xlsx_figures, body(self.get(f"/statistics/{period}.xlsx"))),
            "JSON download": self.parse(
                parsers.release_json,
                json.loads(body(self.get(f"/statistics/{period}.json"))),
                explanations=explained,
            ),
            "zip": self.parse(parsers.release_zip, body(self.get(f"/statistics/{period}.zip"))),
            "CSVW": self.parse(
                parsers.csvw, json.loads(self.get(f"/statistics/{period}.csv-metadata.json").content)
            ),
        }

    def hidden(self, period: str) -> dict[str, Facts]:
        """A release that is not public: its address and the API say so."""
        found = {}
        for name, path in (("page", f"/statistics/{period}/"), ("API", f"/api/v1/releases/{period}/")):
            response = self.get(path, status=None)
            public = "yes" if response.status_code == 200 else "no"
            found[name] = {
                ("release", period, "public"): parsers.fact(public, f"HTTP {response.status_code}")
            }
        return found

    def site(self, *, now: dt.datetime, public: list[str], explanations) -> dict[str, Facts]:
        """The pages about every release: home, the latest release, archive, feed, calendar, revisions."""
        latest = self.get("/statistics/", status=None)
        return {
            "latest release page": self.parse(
                parsers.release_page, latest.content, explanations=tuple(explanations), latest=True
            )
            if latest.status_code == 200
            else {},
            "home page": self.parse(parsers.home, self.get("/").content),
            "archive": self.parse(parsers.archive, self.archive()),
            "Atom feed": self.parse(parsers.feed, self.get("/feed/").content),
            "calendar page": self.parse(parsers.calendar_page, self.get("/statistics/calendar/").content),
            "calendar .ics": parsers.calendar_ics(self.get("/statistics/calendar.ics").content, now=now),
            "revisions page": self.parse(
                parsers.revisions_page, self.get("/statistics/revisions/").content, periods=tuple(public)
            ),
            "API release list": self.parse(parsers.api_release_list, self.api_release_list()),
            "data.csv": self.parse(parsers.csv_figures, body(self.get("/statistics/data.csv"))),
        }

    def metric(self, slug: str) -> dict[str, Facts]:
        """One measure's page, its CSV, XLSX, JSON and zip, and the API's series."""
        return {
            "metric page": self.parse(parsers.metric_page, self.get(f"/statistics/metrics/{slug}/").content),
            "metric CSV": self.parse(parsers.csv_figures, body(self.get(f"/statistics/metrics/{slug}.csv"))),
            "metric XLSX": self.parse(
                parsers.xlsx_figures, body(self.get(f"/statistics/metrics/{slug}.xlsx"))
            ),
            "metric JSON": self.parse(
                parsers.series_json, json.loads(body(self.get(f"/statistics/metrics/{slug}.json")))
            ),
            "metric API": self.parse(
                parsers.series_json, json.loads(self.get(f"/api/v1/metrics/{slug}/").content)
            ),
            "metric zip": self.parse(
                parsers.release_zip_figures, body(self.get(f"/statistics/metrics/{slug}.zip"))
            ),
        }

    def release_then(self, period: str, day: dt.date, *, explanations) -> dict[str, Facts]:
        api = json.loads(self.get(f"/api/v1/releases/{period}/?as_of={day}").content)
        csv = parsers.csv_figures(body(self.get(f"/statistics/{period}.csv?as_of={day}")))
        return {
            f"API ?as_of={day}": parsers.release_json(api, explanations=explanations),
            f"CSV ?as_of={day}": csv,
        }

    def metric_then(self, slug: str, day: dt.date) -> dict[str, Facts]:
        data = json.loads(self.get(f"/api/v1/metrics/{slug}/?as_of={day}").content)
        return {f"metric API ?as_of={day}": parsers.series_json(data)}


def merge_into(outputs: dict[str, Facts], more: dict[str, Facts]) -> None:
    for name, facts in more.items():
        outputs.setdefault(name, {}).update(facts)


@dataclass
class Checked:
    step: object
    comparison: Comparison
    outputs: int
    seconds: float
    report: str = ""


@dataclass
class Checker:
    """After each step: read every output, compare, and keep what the pages said each day."""

    record: Record
    reader: Reader = field(default_factory=Reader)
    sent: int = 0  # emails already read
    snapshots: dict[str, list[tuple[dt.date, Facts]]] = field(default_factory=lambda: defaultdict(list))
    checked: list[Checked] = field(default_factory=list)

    def in_play(self, step, now) -> tuple[list[str], list[str]]:
        """The public releases to read whole (those touched, the latest, the one after each touched),
        and the releases touched that are not public."""
        public = [e.key for e in self.record.public(now)]
        touched = {p.isoformat() for p in step.releases}
        chosen = set(public[-1:])
        for period in touched & set(public):
            chosen.add(period)
            later = [p for p in public if p > period]
            if later:
                chosen.add(later[0])
        return sorted(chosen), sorted(touched - set(public))

    def after(self, step, *, everything: bool = False) -> Checked:
        """Read every output, compare what they state now, then the vintages against earlier days."""
        began = freezegun_api.real_perf_counter()  # the clock itself is frozen
        now = timezone.now()
        releases, hidden = self.in_play(step, now)
        if everything or step.everything:
            releases = [e.key for e in self.record.public(now)]
        outputs = self.read(step, now=now, releases=releases, hidden=hidden)
        comparison = compare(outputs)
        comparison.add(self.unstated(outputs, releases))
        reports = [comparison.report] if comparison.mismatches else []
        today = now.astimezone(UK).date()
        for period in releases:
            self.remember(period, today, outputs.get("page", {}))
        for vintage in self.vintages(releases, sorted(step.metrics), today):
            comparison.add(vintage)
            if vintage.mismatches:
                reports.append(vintage.report)
        seconds = freezegun_api.real_perf_counter() - began
        checked = Checked(step, comparison, len(outputs), seconds, "\n".join(reports))
        self.checked.append(checked)
        return checked

    def read(self, step, *, now, releases: list[str], hidden: list[str]) -> dict[str, Facts]:
        """What the steps taken say, and every output: the releases in play whole, the site's pages,
        the measures the step changed in public, and the emails sent since the last step."""
        explanations = self.record.explanations()
        outputs: dict[str, Facts] = {STEPS: self.record.facts(now)}
        for period in releases:
            merge_into(outputs, self.reader.release(period, explanations=explanations))
        for period in hidden:
            merge_into(outputs, self.reader.hidden(period))
        merge_into(outputs, self.reader.site(now=now, public=releases, explanations=explanations))
        for slug in self.metrics_to_read(step):
            merge_into(outputs, self.reader.metric(slug))
        for message in mail.outbox[self.sent :]:
            kind, facts = parsers.alert(message)
            if kind:
                outputs[f"{kind} to {message.to[0]}"] = facts
        self.sent = len(mail.outbox)
        return outputs

    def metrics_to_read(self, step) -> list[str]:
        """The measures whose public figures the step changed, and one more in turn, so that every
        step reads a measure's pages and files and every measure is read again and again."""
        every = sorted({slug for entry in self.record.releases.values() for slug in entry.figures})
        return sorted(set(step.metrics) | {every[step.number % len(every)]})

    def unstated(self, outputs: dict[str, Facts], releases: list[str]) -> Comparison:
        """Facts an output must state and does not, as disagreements with what the steps taken say."""
        expected = outputs[STEPS]
        must: dict[str, list[tuple]] = defaultdict(list)
        for name, whats in REQUIRED_SITE_FACTS.items():
            must[name] += [("site", what) for what in whats]
        for period in releases:
            figures = [key[2] for key in expected if key[:2] == ("figure", period) and key[3] == "value"]
            for name, whats in REQUIRED_FIGURE_FACTS.items():
                must[name] += [("figure", period, slug, what) for slug in figures for what in whats]
            for name, whats in REQUIRED_RELEASE_FACTS.items():
                must[name] += [("release", period, what) for what in whats]
        mismatches, stated = [], {}
        for name, keys in must.items():
            for key in keys:
                if key not in outputs.get(name, {}):
                    reference = expected.get(key, Fact("", "(stated by other outputs)"))
                    mismatches.append(Mismatch(key, STEPS, reference.quoted, name, NOT_STATED))
                    stated.setdefault(key, {STEPS: reference})[name] = Fact(NOT_STATED)
        return Comparison(mismatches, 0, stated=stated)

    def vintages(self, releases: list[str], metrics: list[str], today: dt.date):
        """Figures as published on earlier days: the API's and the CSV's `?as_of=` against what the
        pages said at the end of that day."""
        explanations = self.record.explanations()
        for period in releases:
            for day, said in self.days_to_check(period):
                then = self.reader.release_then(period, day, explanations=explanations)
                yield compare(
                    {f"page as read on {day}": said, **{n: restrict(f, said) for n, f in then.items()}},
                    prefer=(f"page as read on {day}",),
                )
        yesterday = today - dt.timedelta(days=1)
        for slug in metrics:
            said = self.as_read_on(yesterday, slug)
            if said:
                then = self.reader.metric_then(slug, yesterday)
                yield compare(
                    {
                        f"pages as read on {yesterday}": said,
                        **{n: restrict(f, said) for n, f in then.items()},
                    },
                    prefer=(f"pages as read on {yesterday}",),
                )

    def remember(self, period: str, day: dt.date, page: Facts) -> None:
        """What the page stated today about the figures, version and corrections of `period`."""
        kept = {
            key: value
            for key, value in page.items()
            if key[1] == period
            and (
                (key[0] == "figure" and key[3] in VINTAGE_FIGURE_FACTS)
                or (key[0] == "release" and key[2] in VINTAGE_RELEASE_FACTS)
            )
        }
        days = self.snapshots[period]
        if days and days[-1][0] == day:
            days[-1] = (day, kept)
        else:
            days.append((day, kept))

    def days_to_check(self, period: str) -> list[tuple[dt.date, Facts]]:
        """The last day of each state the page was in (a vintage answers for the end of its day)."""
        days = self.snapshots[period]
        chosen = [days[i] for i in range(len(days)) if i == len(days) - 1 or days[i][1] != days[i + 1][1]]
        return chosen

    def as_read_on(self, day: dt.date, slug: str) -> Facts:
        """Every release's figures of `slug` as the pages stated them at the end of `day`."""
        found: Facts = {}
        for days in self.snapshots.values():
            known = [facts for on, facts in days if on <= day]
            if known:
                found |= {k: v for k, v in known[-1].items() if k[0] == "figure" and k[2] == slug}
        return found


def restrict(facts: Facts, to: Facts) -> Facts:
    """`facts` about what `to` states; a figure `to` states and `facts` does not, as not stated (a
    vintage that drops a figure is wrong; not every vintage states a release's version)."""
    found = {key: value for key, value in facts.items() if key in to}
    for key in to:
        if key[0] == "figure" and key not in found:
            found[key] = Fact(NOT_STATED)
    return found
