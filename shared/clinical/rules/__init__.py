"""The acuity rules of CLINICAL.md v2 as one table: each rule is a small named function of
the case's facts that returns its reasons (empty when it does not fire). The level is the
most urgent level any rule gives."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shared.clinical.facts import Facts
from shared.schemas import Reason

Check = Callable[[Facts], Iterable[Reason]]


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str  # the CLINICAL.md criterion, in short
    check: Check


RULES: dict[str, Rule] = {}


def rule(rule_id: str, summary: str) -> Callable[[Check], Check]:
    """Register a rule function under its id (ids are unique)."""

    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id!r} registered twice")
        RULES[rule_id] = Rule(rule_id, summary, check)
        return check

    return register


def run_rules(facts: Facts) -> list[Reason]:
    """Every reason of every rule, most urgent first (stable within a level)."""
    reasons = [reason for entry in RULES.values() for reason in entry.check(facts)]
    return sorted(reasons, key=lambda r: r.acuity)


# Registering happens on import; the order of modules is the order reasons are listed in.
from shared.clinical.rules import (  # noqa: E402
    baseline,
    groups,
    pain,
    presentations,
    resources,
    vital_signs,
)

__all__ = [
    "RULES",
    "Rule",
    "baseline",
    "groups",
    "pain",
    "presentations",
    "resources",
    "rule",
    "run_rules",
    "vital_signs",
]
