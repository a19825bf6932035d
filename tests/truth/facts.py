"""Facts, and the comparison of the outputs that state them.

A fact is keyed by a tuple saying what it is about:

    ("figure", "2010-03-10", "eps-messages-total", "value")    one figure of one release
    ("release", "2010-03-10", "version")                       one release
    ("correction", "2010-03-10", "<subject>", "<reason>")      one correction notice
    ("site", "next release")                                   the site as a whole

Each output's parser gives a flat dict of them, holding only the facts that output shows (a
calendar never states a figure). A `Fact` keeps the normalised value that is compared and the
words the output used, which a failure quotes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

# What was done in the simulation, stated as facts: compared first, so a failure says what it expected.
STEPS = "the steps taken"


@dataclass(frozen=True)
class Fact:
    value: str  # normalised: what is compared
    said: str = ""  # as the output put it: what a failure quotes

    @property
    def quoted(self) -> str:
        return self.said if self.said else self.value


Facts = dict[tuple, Fact]


def fact(value, said=None) -> Fact:
    value = "" if value is None else str(value)
    return Fact(value, value if said is None else str(said))


def describe(key: tuple) -> str:
    """A fact's name in a failure: 'figure eps-messages-total value (w/c 2010-03-10)'."""
    kind, *rest = key
    if kind == "figure":
        period, slug, what = rest
        return f"figure {slug} {what} (w/c {period})"
    if kind == "release":
        period, *what = rest
        return f"release w/c {period} {' '.join(what)}"
    if kind == "correction":
        period, subject, reason = rest
        return f"correction of {subject} on w/c {period} (“{reason}”)"
    return " ".join(str(part) for part in key)


@dataclass(frozen=True)
class Mismatch:
    """One output stating a fact otherwise than the reference output."""

    key: tuple
    reference: str
    reference_said: str
    output: str
    said: str

    def __str__(self) -> str:
        said = f'{self.reference} says "{self.reference_said}", {self.output} says "{self.said}"'
        return f"{describe(self.key)}: {said}"


@dataclass
class Comparison:
    mismatches: list[Mismatch]
    compared: int  # facts checked: each output's statement of a fact another output also states
    by_output: Counter = field(default_factory=Counter)  # of those, how many each output made
    # For each fact that disagrees: who stated it, and how (the reference first).
    stated: dict[tuple, dict[str, Fact]] = field(default_factory=dict)

    def add(self, other: Comparison) -> None:
        self.mismatches += other.mismatches
        self.compared += other.compared
        self.by_output.update(other.by_output)
        self.stated.update(other.stated)

    @property
    def report(self) -> str:
        """One line per fact that disagrees: the reference and the outputs agreeing with it, then
        each output that says otherwise, every one with its own words."""
        lines = []
        for key in dict.fromkeys(m.key for m in self.mismatches):
            by_output = self.stated[key]
            reference = next(iter(by_output.values())).value
            agree = [
                f'{name} says "{fact.quoted}"' for name, fact in by_output.items() if fact.value == reference
            ]
            differ = [
                f'{name} says "{fact.quoted}"' for name, fact in by_output.items() if fact.value != reference
            ]
            lines.append(f"{describe(key)}: {', '.join(agree)}; but {', '.join(differ)}")
        return "\n".join(lines)


def compare(outputs: dict[str, Facts], *, prefer: tuple[str, ...] = (STEPS,)) -> Comparison:
    """Every fact stated by two or more outputs, each checked against one reference output.

    The reference is the first of `prefer` that states the fact, else the first output (in the
    order given) that does. All disagreements are kept, never only the first.
    """
    stated: dict[tuple, dict[str, Fact]] = defaultdict(dict)
    for name, facts in outputs.items():
        for key, value in facts.items():
            stated[key][name] = value
    mismatches, compared, counted, wrong = [], 0, Counter(), {}
    for key, by_output in stated.items():
        if len(by_output) < 2:
            continue
        reference = next((name for name in prefer if name in by_output), next(iter(by_output)))
        expected = by_output[reference]
        found = [
            Mismatch(key, reference, expected.quoted, name, value.quoted)
            for name, value in by_output.items()
            if name != reference and value.value != expected.value
        ]
        compared += len(by_output) - 1
        counted.update(name for name in by_output if name != reference)
        if found:
            mismatches += found
            wrong[key] = {reference: expected} | {n: v for n, v in by_output.items() if n != reference}
    return Comparison(mismatches, compared, counted, wrong)
