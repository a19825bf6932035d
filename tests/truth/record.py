"""What the people in the simulation did, kept by the simulation itself and stated as facts.

This is the newsroom's own account of each release — the figures the press office meant, the
explanations it wrote, the corrections the publisher made, the dates announced, who was given
pre-release access and who used it — from which follow what every output must say: the citation
version is 1 plus one per correction (never per explanation), a figure updated for a new week
stands at the new reporting period unless a date was given with it, and so on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .facts import Facts, fact
from .parsers import NONE, listed, pre_release_fact
from .wording import UK, next_release, number, uk_day_of, utc_minute

DRAFT, IN_REVIEW, SCHEDULED, PUBLISHED, CANCELLED = (
    "draft",
    "in review",
    "scheduled",
    "published",
    "cancelled",
)


@dataclass
class Planned:
    """A figure as the people meant it."""

    value: Decimal
    as_of: dt.date | None = None
    qualifier: str = ""


@dataclass
class Grant:
    job_title: str
    organisation: str
    email: str
    opened: bool = False
    revoked: bool = False

    @property
    def holder(self) -> str:
        return f"{self.job_title}, {self.organisation}"


@dataclass
class Correction:
    slug: str
    reason: str
    at: dt.datetime


@dataclass
class Entry:
    """One release as the people left it."""

    period: dt.date
    figures: dict[str, Planned]
    state: str = DRAFT
    publish_at: dt.datetime | None = None
    confirmed: bool = False
    designation: str = ""
    explanations: list[str] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    date_changes: int = 0
    grants: list[Grant] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.period.isoformat()

    def is_public(self, now: dt.datetime) -> bool:
        return self.state in (SCHEDULED, PUBLISHED) and self.publish_at is not None and self.publish_at <= now

    def is_coming(self, now: dt.datetime) -> bool:
        return (
            self.state in (DRAFT, IN_REVIEW, SCHEDULED)
            and self.publish_at is not None
            and self.publish_at > now
        )

    def moved(self, when: dt.datetime) -> None:
        """An announced date moving is a public change, counted on the calendar."""
        if self.publish_at is not None and self.publish_at != when:
            self.date_changes += 1
        self.publish_at = when


@dataclass
class Record:
    releases: dict[dt.date, Entry] = field(default_factory=dict)

    def __getitem__(self, period: dt.date) -> Entry:
        return self.releases[period]

    def add(self, entry: Entry) -> Entry:
        self.releases[entry.period] = entry
        return entry

    def public(self, now: dt.datetime) -> list[Entry]:
        return sorted((e for e in self.releases.values() if e.is_public(now)), key=lambda e: e.period)

    def explanations(self) -> list[str]:
        return [text for entry in self.releases.values() for text in entry.explanations]

    def next_release(self, now: dt.datetime) -> Entry | None:
        coming = [e for e in self.releases.values() if e.is_coming(now)]
        return min(coming, key=lambda e: e.publish_at) if coming else None

    def facts(self, now: dt.datetime) -> Facts:
        found: Facts = {}
        for entry in self.releases.values():
            found |= release_facts(entry, now)
        public = self.public(now)
        found[("site", "public releases")] = fact(listed(e.key for e in public))
        if public:
            found[("site", "latest release")] = fact(public[-1].key)
        coming = self.next_release(now)
        found[("site", "next release")] = (
            fact(
                next_release(coming.key, utc_minute(coming.publish_at)),
                f"w/c {coming.key}, {_uk(coming.publish_at)}",
            )
            if coming
            else fact(NONE, "no release announced")
        )
        return found


def _uk(moment: dt.datetime) -> str:
    return moment.astimezone(UK).strftime("%A %d %B %Y, %H:%M %Z")


def release_facts(entry: Entry, now: dt.datetime) -> Facts:
    p = entry.key
    found: Facts = {}
    if not entry.is_public(now):
        found[("release", p, "public")] = fact("no", f"{entry.state}, not public")
        if entry.state == CANCELLED:
            found[("release", p, "date status")] = fact("cancelled")
        elif entry.is_coming(now):
            found[("release", p, "date status")] = fact("confirmed" if entry.confirmed else "provisional")
            found[("release", p, "publish time")] = fact(utc_minute(entry.publish_at), _uk(entry.publish_at))
        if entry.publish_at is not None:
            found[("release", p, "date changes")] = fact(entry.date_changes)
        return found
    corrections = sorted(entry.corrections, key=lambda c: c.at)
    found[("release", p, "public")] = fact("yes", "published")
    found[("release", p, "date status")] = fact("out")
    found[("release", p, "date changes")] = fact(entry.date_changes)
    found[("release", p, "published")] = fact(utc_minute(entry.publish_at), _uk(entry.publish_at))
    found[("release", p, "published day")] = fact(uk_day_of(entry.publish_at))
    if entry.designation:
        found[("release", p, "designation")] = fact(entry.designation)
    found[("release", p, "version")] = fact(
        1 + len(corrections), f"{1 + len(corrections)} (1 at publication, {len(corrections)} corrections)"
    )
    found[("release", p, "corrections")] = fact(len(corrections))
    found[("release", p, "correction reasons")] = fact(listed(c.reason for c in corrections))
    found[("release", p, "corrected on")] = fact(
        uk_day_of(corrections[-1].at) if corrections else "", "not corrected" if not corrections else None
    )
    found[("release", p, "explanations")] = fact(listed(entry.explanations))
    used = [g.holder for g in entry.grants if g.opened]
    unused = [g.holder for g in entry.grants if not g.opened and not g.revoked]
    found |= pre_release_fact(p, used, unused)
    for slug, planned in entry.figures.items():
        found[("figure", p, slug, "value")] = fact(number(planned.value))
        found[("figure", p, slug, "as_of")] = fact(
            planned.as_of.isoformat() if planned.as_of else "",
            planned.as_of.isoformat() if planned.as_of else "the reporting period",
        )
        found[("figure", p, slug, "qualifier")] = fact(planned.qualifier)
        found[("figure", p, slug, "revisions")] = fact(sum(1 for c in corrections if c.slug == slug))
    return found
