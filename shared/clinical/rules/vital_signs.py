"""Rules on vital signs and scores: ESI level-1 criteria, NEWS2, shock index, danger zone."""

from __future__ import annotations

from collections.abc import Iterator

from shared.clinical.facts import Facts
from shared.clinical.news2 import describe
from shared.clinical.rules import rule
from shared.schemas import Acuity, Consciousness, Reason

RESUS, EMERGENT, URGENT = Acuity.RESUSCITATION, Acuity.EMERGENT, Acuity.URGENT
NOT_ALERT = (Consciousness.CONFUSION, Consciousness.VOICE, Consciousness.PAIN,
             Consciousness.UNRESPONSIVE)  # fmt: skip

# ESI v5 danger zone: (upper age bound in years, inclusive?, HR limit, RR limit, label).
# A band's lower edge belongs to it; "over 12 y" is strictly over. Above the limit = danger.
DANGER_ZONE: tuple[tuple[float, bool, int, int, str], ...] = (
    (1 / 12, False, 190, 60, "<1 month"),
    (1.0, False, 180, 55, "1-12 months"),
    (3.0, False, 140, 40, "1-3 years"),
    (5.0, False, 120, 35, "3-5 years"),
    (12.0, True, 120, 30, "5-12 years"),
    (float("inf"), True, 100, 20, "over 12 years"),
)
SPO2_DANGER_BELOW, SPO2_DANGER_BELOW_SCALE2 = 92, 88


def danger_zone_limits(age_years: float) -> tuple[int, int, str]:
    """(HR limit, RR limit, age band label) for the ESI danger zone at this age."""
    for upper, inclusive, hr, rr, label in DANGER_ZONE:
        if age_years < upper or (inclusive and age_years == upper):
            return hr, rr, label
    raise AssertionError("unreachable: last band is unbounded")


def pals_systolic_limit(age_years: float) -> float:
    """PALS hypotension: systolic below this is shock (term neonate 60, infant 70,
    1-10 years 70 + 2 x age, over 10 years 90)."""
    if age_years < 28 / 365.25:
        return 60
    if age_years < 1:
        return 70
    if age_years <= 10:
        return 70 + 2 * int(age_years)
    return 90


def danger_zone_signs(f: Facts) -> list[str]:
    """The danger-zone vital signs present, as short texts."""
    v = f.vitals
    hr_limit, rr_limit, band = danger_zone_limits(f.age)
    out = []
    if v.heart_rate is not None and v.heart_rate > hr_limit:
        out.append(f"HR {v.heart_rate} above {hr_limit} ({band})")
    if v.respiratory_rate is not None and v.respiratory_rate > rr_limit:
        out.append(f"RR {v.respiratory_rate} above {rr_limit} ({band})")
    spo2_limit = SPO2_DANGER_BELOW_SCALE2 if v.spo2_scale2 else SPO2_DANGER_BELOW
    if v.spo2 is not None and v.spo2 < spo2_limit:
        out.append(f"SpO2 {v.spo2}% below {spo2_limit}%")
    return out


def altered_consciousness(f: Facts) -> str | None:
    """What shows the patient is not alert (ACVPU, GCS below 15, or the text), or None."""
    v = f.vitals
    if v.consciousness in NOT_ALERT:
        return f"ACVPU {v.consciousness.value}"  # type: ignore[union-attr]
    if v.gcs is not None and v.gcs < 15:
        return f"GCS {v.gcs}"
    mention = next(iter(f.new("altered_mental", "unresponsive")), None)
    return f'"{mention.text}"' if mention else None


@rule("unresponsive", "responds only to pain or not at all (AVPU P/U) or GCS 3-9 -> 1")
def unresponsive(f: Facts) -> Iterator[Reason]:
    v = f.vitals
    if v.consciousness in (Consciousness.PAIN, Consciousness.UNRESPONSIVE):
        yield f.reason(
            "unresponsive",
            RESUS,
            f"responds only to pain or not at all (ACVPU {v.consciousness.value})",
            v.consciousness.value,
        )  # type: ignore[union-attr]
    elif v.gcs is not None and v.gcs <= 9:
        yield f.reason("unresponsive", RESUS, f"GCS {v.gcs} (3-9)", v.gcs)
    elif (m := next(iter(f.new("unresponsive")), None)) is not None:
        yield f.reason("unresponsive", RESUS, "unresponsive", mention=m)


@rule("voice_or_confusion", "AVPU V, GCS 10-13, or new confusion, lethargy, disorientation -> 2")
def voice_or_confusion(f: Facts) -> Iterator[Reason]:
    v = f.vitals
    if v.consciousness in (Consciousness.VOICE, Consciousness.CONFUSION):
        what = "responds to voice" if v.consciousness is Consciousness.VOICE else "new confusion"
        yield f.reason(
            "voice_or_confusion",
            EMERGENT,
            f"{what} (ACVPU {v.consciousness.value})",
            v.consciousness.value,
        )  # type: ignore[union-attr]
    elif v.gcs is not None and 10 <= v.gcs <= 13:
        yield f.reason("voice_or_confusion", EMERGENT, f"GCS {v.gcs} (10-13)", v.gcs)
    elif (m := next(iter(f.new("altered_mental")), None)) is not None:
        yield f.reason(
            "voice_or_confusion", EMERGENT, "new confusion, lethargy or disorientation", mention=m
        )


@rule("spo2_very_low", "SpO2 < 90% (scale 1) or < 80% (scale 2) -> 1")
def spo2_very_low(f: Facts) -> Iterator[Reason]:
    v = f.vitals
    limit = 80 if v.spo2_scale2 else 90
    if v.spo2 is not None and v.spo2 < limit:
        scale = " (scale 2)" if v.spo2_scale2 else ""
        yield f.reason("spo2_very_low", RESUS, f"SpO2 {v.spo2}% below {limit}%{scale}", v.spo2)


@rule("spo2_low", "SpO2 90-91% (scale 1) or 80-83% (scale 2) -> 2")
def spo2_low(f: Facts) -> Iterator[Reason]:
    v = f.vitals
    low, high = (80, 83) if v.spo2_scale2 else (90, 91)
    if v.spo2 is not None and low <= v.spo2 <= high:
        scale = " (scale 2)" if v.spo2_scale2 else ""
        yield f.reason("spo2_low", EMERGENT, f"SpO2 {v.spo2}% ({low}-{high}%{scale})", v.spo2)


@rule("respiratory_rate_very_low", "respiratory rate <= 8 -> 1")
def respiratory_rate_very_low(f: Facts) -> Iterator[Reason]:
    rr = f.vitals.respiratory_rate
    if rr is not None and rr <= 8:
        yield f.reason("respiratory_rate_very_low", RESUS, f"RR {rr} (8 or below)", rr)


@rule("respiratory_rate_high", "adult respiratory rate > 30 (moderate respiratory distress) -> 2")
def respiratory_rate_high(f: Facts) -> Iterator[Reason]:
    rr = f.vitals.respiratory_rate
    if f.adult and rr is not None and rr > 30:
        yield f.reason(
            "respiratory_rate_high",
            EMERGENT,
            f"RR {rr} above 30 (moderate respiratory distress)",
            rr,
        )


def perfusion_sign(f: Facts) -> str | None:
    """A sign of poor perfusion: altered consciousness, mottled, pale, cold or clammy skin,
    weak pulse, slow capillary refill, an oximeter that cannot read."""
    mention = f.first("poor_perfusion", "pale")
    if mention is not None:
        return f'"{mention.text}"'
    return altered_consciousness(f)


@rule("shock", "systolic < 80 (adult), or <= 90 with poor perfusion, or below PALS limit -> 1")
def shock(f: Facts) -> Iterator[Reason]:
    sbp = f.vitals.systolic_bp
    if sbp is None:
        return
    if not f.adult:
        limit = pals_systolic_limit(f.age)
        if sbp < limit:
            yield f.reason(
                "shock",
                RESUS,
                f"systolic {sbp} below the PALS limit {limit:g} for age (shock)",
                sbp,
            )
        return
    if sbp < 80:
        yield f.reason("shock", RESUS, f"systolic {sbp} below 80 (shock)", sbp)
    elif sbp <= 90 and (sign := perfusion_sign(f)) is not None:
        yield f.reason("shock", RESUS, f"systolic {sbp} with poor perfusion ({sign})", sbp)


@rule(
    "unstable_heart_rate",
    "adult pulse <= 40 or > 150 with systolic <= 90 or altered consciousness -> 1",
)
def unstable_heart_rate(f: Facts) -> Iterator[Reason]:
    hr, sbp = f.vitals.heart_rate, f.vitals.systolic_bp
    if not f.adult or hr is None or 40 < hr <= 150:
        return
    why = f"systolic {sbp}" if sbp is not None and sbp <= 90 else altered_consciousness(f)
    if why is not None:
        yield f.reason("unstable_heart_rate", RESUS, f"HR {hr} with {why}", hr)


@rule("heart_rate_extreme", "adult pulse <= 40 or >= 131 -> 2")
def heart_rate_extreme(f: Facts) -> Iterator[Reason]:
    hr = f.vitals.heart_rate
    if f.adult and hr is not None and (hr <= 40 or hr >= 131):
        yield f.reason(
            "heart_rate_extreme", EMERGENT, f"HR {hr} (40 or below, or 131 or above)", hr
        )


@rule("hypotension", "adult systolic <= 90 -> 2")
def hypotension(f: Facts) -> Iterator[Reason]:
    sbp = f.vitals.systolic_bp
    if f.adult and sbp is not None and sbp <= 90:
        yield f.reason("hypotension", EMERGENT, f"systolic {sbp} (90 or below)", sbp)


@rule("shock_index", "adult shock index >= 1.0 -> 2; > 0.9 -> 3")
def shock_index_rule(f: Facts) -> Iterator[Reason]:
    hr, sbp = f.vitals.heart_rate, f.vitals.systolic_bp
    if not f.adult or hr is None or not sbp:
        return
    ratio = hr / sbp  # compared unrounded: 100/111 = 0.9009 is above 0.9
    value = round(ratio, 2)
    if ratio >= 1.0:
        yield f.reason(
            "shock_index",
            EMERGENT,
            f"shock index {value} (HR {hr} / systolic {sbp}, 1.0 or above)",
            value,
        )
    elif ratio > 0.9:
        yield f.reason(
            "shock_index",
            URGENT,
            f"shock index {value} (HR {hr} / systolic {sbp}, above 0.9)",
            value,
        )


@rule("news2", "NEWS2 >= 7 -> 2; 5-6 -> 3; any single parameter scoring 3 -> 3")
def news2(f: Facts) -> Iterator[Reason]:
    n = f.news2
    if not n.applicable or n.total is None:
        return
    if n.total >= 5:
        level = EMERGENT if n.total >= 7 else URGENT
        scored = ", ".join(describe(p) for p in n.parameters if p.score > 0)
        prefix = "at least " if n.is_floor else ""
        missing = f"; missing: {', '.join(n.missing)}" if n.missing else ""
        yield f.reason(
            "news2", level, f"NEWS2 {prefix}{n.total} ({n.band}{missing}): {scored}", n.total
        )
    for param in n.parameters:
        if param.score == 3:
            yield f.reason(
                "news2_single_parameter",
                URGENT,
                f"single NEWS2 parameter scoring 3: {describe(param)}",
                param.value,
            )
    gcs = f.vitals.gcs
    if (
        gcs is not None
        and gcs < 15
        and not any(p.parameter == "consciousness" and p.score == 3 for p in n.parameters)
    ):
        # CLINICAL.md: GCS below 15 counts as not alert, a consciousness score of 3.
        yield f.reason(
            "news2_single_parameter",
            URGENT,
            f"single NEWS2 parameter scoring 3: GCS {gcs} counts as not alert (+3)",
            gcs,
        )


@rule("danger_zone", "two or more danger-zone vital signs -> 2; one -> 3")
def danger_zone(f: Facts) -> Iterator[Reason]:
    signs = danger_zone_signs(f)
    if len(signs) >= 2:
        yield f.reason(
            "danger_zone", EMERGENT, "danger-zone vital signs: " + "; ".join(signs), len(signs)
        )
    elif signs:
        yield f.reason("danger_zone", URGENT, f"danger-zone vital sign: {signs[0]}", 1)


@rule("temperature_low", "temperature < 32.0 C -> 2; 32.0-35.0 C -> 3")
def temperature_low(f: Facts) -> Iterator[Reason]:
    t = f.vitals.temperature_c
    if t is None:
        return
    if t < 32.0:
        yield f.reason("temperature_low", EMERGENT, f"temperature {t} C (below 32.0)", t)
    elif t <= 35.0:
        yield f.reason("temperature_low", URGENT, f"temperature {t} C (32.0-35.0)", t)
