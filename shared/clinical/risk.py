"""Deterministic risk floor from structured data (NEWS2, ESI danger zone, special groups)."""

from __future__ import annotations

from shared.clinical.news2 import describe, score_news2
from shared.schemas import Acuity, Assessment, CaseIn, NEWS2Result, Reason

# ESI v5 danger-zone vitals: (upper age bound, inclusive?, HR limit, RR limit, band label).
# Boundary convention: a band's lower edge belongs to it, so age 1.0 y is "1-3 y", 3.0 y is
# "3-5 y" and 5.0 y is "5-12 y"; "over 12 y" is strictly over, so exactly 12.0 y is "5-12 y".
# One month is 1/12 year. A vital is in the danger zone when strictly above the limit.
DANGER_ZONE: tuple[tuple[float, bool, int, int, str], ...] = (
    (1 / 12, False, 190, 60, "<1 month"),
    (1.0, False, 180, 55, "1-12 months"),
    (3.0, False, 140, 40, "1-3 years"),
    (5.0, False, 120, 35, "3-5 years"),
    (12.0, True, 120, 30, "5-12 years"),
    (float("inf"), True, 100, 20, "over 12 years"),
)
SPO2_DANGER_BELOW = 92  # any age

NEONATE_MAX_YEARS = 28 / 365.25  # 28 days or younger
FEBRILE_ABOVE_C = 38.0
PREGNANCY_SBP_LOW = 90  # strictly below is abnormal
PREGNANCY_SBP_HIGH = 150  # strictly above is abnormal

NEWS2_HIGH = 7
NEWS2_MEDIUM = 5


def danger_zone_limits(age_years: float) -> tuple[int, int, str]:
    """(HR limit, RR limit, age band label) for the ESI danger zone at this age."""
    for upper, inclusive, hr, rr, label in DANGER_ZONE:
        if age_years < upper or (inclusive and age_years == upper):
            return hr, rr, label
    raise AssertionError("unreachable: last band is unbounded")


def _news2_reasons(news2: NEWS2Result) -> list[Reason]:
    """Reasons from the NEWS2 total and from any single parameter scoring 3."""
    if not news2.applicable or news2.total is None:
        return []
    reasons: list[Reason] = []
    if news2.total >= NEWS2_MEDIUM:
        level = Acuity.EMERGENT if news2.total >= NEWS2_HIGH else Acuity.URGENT
        scored = ", ".join(describe(p) for p in news2.parameters if p.score > 0)
        prefix = "at least " if news2.is_floor else ""
        missing = f"; missing: {', '.join(news2.missing)}" if news2.missing else ""
        detail = f"NEWS2 {prefix}{news2.total} ({news2.band}{missing}): {scored}"
        reasons.append(Reason(rule="news2_total", detail=detail, acuity=level, value=news2.total))
    for param in news2.parameters:
        if param.score == 3:
            reasons.append(
                Reason(
                    rule="news2_single_parameter",
                    detail=f"single NEWS2 parameter scoring 3: {describe(param)}",
                    acuity=Acuity.URGENT,
                    value=param.value,
                )
            )
    return reasons


def _danger_zone(rule: str, text: str, value: int) -> Reason:
    """A Medium reason for one danger-zone vital sign."""
    return Reason(
        rule=rule, detail=f"danger-zone vital sign: {text}", acuity=Acuity.URGENT, value=value
    )


def _danger_zone_reasons(case: CaseIn) -> list[Reason]:
    """Reasons for ESI v5 danger-zone HR, RR and SpO2 at the patient's age."""
    hr, rr, spo2 = case.vitals.heart_rate, case.vitals.respiratory_rate, case.vitals.spo2
    hr_limit, rr_limit, band = danger_zone_limits(case.age_years)
    reasons: list[Reason] = []
    if hr is not None and hr > hr_limit:
        reasons.append(_danger_zone("danger_zone_hr", f"HR {hr} above {hr_limit} ({band})", hr))
    if rr is not None and rr > rr_limit:
        reasons.append(_danger_zone("danger_zone_rr", f"RR {rr} above {rr_limit} ({band})", rr))
    if spo2 is not None and spo2 < SPO2_DANGER_BELOW:
        text = f"SpO2 {spo2}% below {SPO2_DANGER_BELOW}%"
        reasons.append(_danger_zone("danger_zone_spo2", text, spo2))
    return reasons


def _special_group_reasons(case: CaseIn) -> list[Reason]:
    """Reasons for a febrile neonate and for abnormal blood pressure in pregnancy."""
    vitals = case.vitals
    reasons: list[Reason] = []
    temperature = None if vitals.temperature_c is None else round(vitals.temperature_c, 1)
    febrile = temperature is not None and temperature > FEBRILE_ABOVE_C
    if case.age_years <= NEONATE_MAX_YEARS and febrile:
        days = round(case.age_years * 365.25)
        reasons.append(
            Reason(
                rule="febrile_neonate",
                detail=f"febrile neonate: {temperature} C at about {days} days old",
                acuity=Acuity.EMERGENT,
                value=temperature,
            )
        )
    sbp = vitals.systolic_bp
    if case.pregnant and sbp is not None and not PREGNANCY_SBP_LOW <= sbp <= PREGNANCY_SBP_HIGH:
        side = "below 90" if sbp < PREGNANCY_SBP_LOW else "above 150"
        reasons.append(
            Reason(
                rule="pregnancy_bp",
                detail=f"pregnant with systolic BP {sbp} mmHg ({side})",
                acuity=Acuity.URGENT,
                value=sbp,
            )
        )
    return reasons


def assess(case: CaseIn) -> Assessment:
    """Deterministic risk floor from structured data only; every level carries its reasons."""
    news2 = score_news2(case.vitals, age_years=case.age_years, pregnant=case.pregnant)
    reasons = _news2_reasons(news2) + _danger_zone_reasons(case) + _special_group_reasons(case)
    level = Acuity.most_urgent(Acuity.LESS_URGENT, *(r.acuity for r in reasons))
    if level is Acuity.LESS_URGENT and news2.applicable and news2.is_floor:
        # A low score from incomplete vitals must not read as reassurance.
        missing = ", ".join(news2.missing)
        reasons.append(
            Reason(
                rule="news2_incomplete",
                detail=f"NEWS2 is at least {news2.total}; not documented: {missing}",
                acuity=Acuity.LESS_URGENT,
                value=missing,
            )
        )
    # Most urgent first; the sort is stable so rule order is kept within a level.
    reasons.sort(key=lambda r: r.acuity)
    return Assessment(acuity=level, news2=news2, reasons=reasons)
