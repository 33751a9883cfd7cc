"""The HTML report of one stored model: discrimination with confidence intervals,
calibration, Brier score, a calibration plot and a decision curve (inline SVG, no plotting
library), the under-triage rate before and after the nudge, and the largest coefficients."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from shared.calibration.features import feature_label
from shared.db.models import CalibrationModel

W, H, PAD = 360, 300, 40
STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}"
    "figure{display:inline-block;margin:0 1em 0 0}"
)
COLOURS = {"rules_recalibrated": "#888", "logistic": "#1f5fbf", "gradient_boosting": "#c0392b"}
NAMES = {
    "rules_recalibrated": "rules recalibrated (intercept + slope)",
    "logistic": "logistic regression (the model used)",
    "gradient_boosting": "gradient boosting (compared only)",
}


def _xy(x: float, y: float, top: float) -> tuple[float, float]:
    return PAD + x / top * (W - 2 * PAD), H - PAD - y / top * (H - 2 * PAD)


def _axes(title: str, xlabel: str, ylabel: str, top: float, low: float = 0.0) -> list[str]:
    x0, y0 = _xy(0, 0, top)
    x1, _ = _xy(top, 0, top)
    _, y1 = _xy(0, top, top)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{W / 2}" y="16" text-anchor="middle" font-size="13">{html.escape(title)}</text>',
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/>',
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>',
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle" font-size="11">{xlabel}</text>',
        f'<text x="12" y="{H / 2}" font-size="11" transform="rotate(-90 12 {H / 2})" '
        f'text-anchor="middle">{ylabel}</text>',
        f'<text x="{x0}" y="{y0 + 14}" font-size="10" text-anchor="middle">0</text>',
        f'<text x="{x1}" y="{y0 + 14}" font-size="10" text-anchor="middle">{top:g}</text>',
        f'<text x="{x0 - 4}" y="{y1 + 4}" font-size="10" text-anchor="end">{top:g}</text>',
    ]
    if low:
        parts.append(
            f'<text x="{x0 - 4}" y="{y0 + 4}" font-size="10" text-anchor="end">{low:g}</text>'
        )
    return parts


def _polyline(points: Sequence[tuple[float, float]], colour: str, dash: str = "") -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{extra}/>'


def calibration_svg(models: dict[str, Any]) -> str:
    """Observed against predicted risk per decile, one line per model; the diagonal is ideal."""
    top = max(
        [0.05] + [max(b["predicted"], b["observed"]) for m in models.values()
                  for b in m["calibration_curve"]]
    )  # fmt: skip
    top = min(1.0, round(top * 1.1 + 0.005, 2))
    parts = _axes("Calibration (deciles of risk)", "predicted", "observed", top)
    parts.append(_polyline([_xy(0, 0, top), _xy(top, top, top)], "#bbb", "4 3"))
    for name, m in models.items():
        points = [_xy(b["predicted"], b["observed"], top) for b in m["calibration_curve"]]
        parts.append(_polyline(points, COLOURS.get(name, "black")))
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{COLOURS.get(name, "black")}"/>'
                  for x, y in points]  # fmt: skip
    return "".join(parts) + "</svg>"


def decision_svg(models: dict[str, Any]) -> str:
    """Net benefit against the threshold probability; treat-all and treat-none for scale."""
    curves = {name: m["decision_curve"] for name, m in models.items()}
    first = next(iter(curves.values()))
    top_t = max(p["threshold"] for p in first)
    top_nb = max(
        [0.01] + [p["model"] for c in curves.values() for p in c] + [first[0]["treat_all"]]
    )

    def xy(t: float, nb: float) -> tuple[float, float]:
        nb = max(nb, -top_nb * 0.25)  # treat-all dives below zero; clip it at the frame
        x = PAD + t / top_t * (W - 2 * PAD)
        y = H - PAD - (nb + top_nb * 0.25) / (top_nb * 1.25) * (H - 2 * PAD)
        return x, y

    parts = _axes("Decision curve", "threshold probability", "net benefit", top_t)
    parts.append(_polyline([xy(p["threshold"], p["treat_all"]) for p in first], "#999", "4 3"))
    parts.append(_polyline([xy(0, 0), xy(top_t, 0)], "#444", "2 2"))
    for name, c in curves.items():
        parts.append(_polyline([xy(p["threshold"], p["model"]) for p in c], COLOURS[name]))
    return "".join(parts) + "</svg>"


def _ci(m: dict[str, Any], key: str) -> str:
    low, high = m[f"{key}_ci"]
    return f"{m[key]:.3f} ({low:.3f}-{high:.3f})"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render(row: CalibrationModel) -> str:
    """The report as one self-contained HTML page."""
    metrics, model = row.metrics, row.model
    models = metrics["models"]
    split, under = metrics["split"], metrics["under_triage"]
    lines = "".join(
        f"<tr><td><span style='color:{COLOURS[name]}'>&#9632;</span> {NAMES[name]}</td>"
        f"<td>{_ci(m, 'auroc')}</td><td>{_ci(m, 'auprc')}</td>"
        f"<td>{m['calibration_slope']:.2f}</td><td>{m['calibration_intercept']:.2f}</td>"
        f"<td>{m['brier']:.4f}</td></tr>"
        for name, m in models.items()
    )
    coefficients = sorted(model["coefficients"].items(), key=lambda kv: -abs(kv[1]))[:15]
    coefficient_rows = "".join(
        f"<tr><td>{html.escape(feature_label(n))}</td><td>{c:+.3f}</td></tr>"
        for n, c in coefficients
    )
    thresholds = "".join(
        f"<tr><td>{t['threshold']:g}</td><td>{_pct(t['rate'])}</td>"
        f"<td>{t['critical_at_4_5']}</td><td>{t.get('nudged', '')}</td></tr>"
        for t in under.get("by_threshold", [])
    )
    recal = model["recalibration"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Site calibration v{row.version}</title>
<style>{STYLE}</style>
</head><body>
<h1>Site calibration model v{row.version}</h1>
<p>Trained {row.created_at:%Y-%m-%d %H:%M} UTC by {html.escape(row.created_by)} on
{row.n_cases} disposed cases from {row.trained_since:%Y-%m-%d} to {row.trained_until:%Y-%m-%d}
with {row.n_events} critical outcomes (HDU/ICU admission or death); scikit-learn
{html.escape(row.sklearn_version)}; data SHA-256 <code>{row.data_hash}</code>;
{"<strong>active</strong>" if row.active else "not active"}.</p>
<h2>Validation on the most recent months</h2>
<p>Trained on the older {split["train_cases"]} cases ({split["train_events"]} outcomes), tested
on the {split["test_cases"]} most recent ({split["test_events"]} outcomes, from
{split["test_since"][:10]} to {split["test_until"][:10]}). 95% bootstrap intervals.</p>
<table id="metrics"><tr><th>model</th><th>AUROC</th><th>AUPRC</th><th>calibration slope</th>
<th>calibration intercept</th><th>Brier</th></tr>{lines}</table>
<p>The rules recalibrated: intercept {recal["intercept"]:.2f}, slope {recal["slope"]:.2f} on the
log-odds of the levels' published prior.</p>
<figure>{calibration_svg(models)}<figcaption>Calibration: observed against predicted, by decile
(dashed: ideal).</figcaption></figure>
<figure>{decision_svg(models)}<figcaption>Decision curve: net benefit (dashed grey: act on
everyone; dotted: on no one).</figcaption></figure>
<h2>Under-triage</h2>
<p>Critical outcomes among patients placed at levels 4-5, as a share of all critical outcomes,
on the test months: <strong id="under-before">{_pct(under["before"]["rate"])}</strong> with the
rules alone, <strong id="under-after">{_pct(under["after"]["rate"])}</strong> after the nudge at
the site threshold {metrics["threshold"]:g} ({under["nudged"]} cases made one level more
urgent). Among everyone placed at 4-5: {_pct(under["before"]["among_levels_4_5"])} before,
{_pct(under["after"]["among_levels_4_5"])} after.</p>
<table id="thresholds"><tr><th>threshold</th><th>under-triage after</th>
<th>critical outcomes left at 4-5</th><th>cases nudged</th></tr>{thresholds}</table>
<h2>Largest coefficients (log-odds per unit)</h2>
<table id="coefficients"><tr><th>feature</th><th>coefficient</th></tr>{coefficient_rows}</table>
<p>Assistive decision support: the model may make a level more urgent, never less; a clinician
decides.</p>
</body></html>
"""
