"""The HTML report of a stored model: every figure the issue names, images inline."""

from __future__ import annotations

import datetime as dt
import re
from xml.etree import ElementTree

from shared.calibration.metrics import auprc, auroc, under_triage
from shared.calibration.report import render
from shared.db.models import CalibrationModel


def test_report_holds_the_figures_and_two_svg_images(trained):
    row = CalibrationModel(
        version=3, created_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC), created_by="cli",
        trained_since=trained.since, trained_until=trained.until, data_hash=trained.data_hash,
        n_cases=trained.n_cases, n_events=trained.n_events, features=trained.features,
        model=trained.model, metrics=trained.metrics, sklearn_version=trained.sklearn_version,
        active=True,
    )  # fmt: skip
    page = render(row)
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2
    for svg in svgs:
        ElementTree.fromstring(svg)  # noqa: S314 - our own SVG: it is well-formed
        assert svg.count("<polyline") >= 3
    for words in ("AUROC", "AUPRC", "calibration slope", "Brier", "Decision curve",
                  "Under-triage", trained.data_hash, "gradient boosting", "active"):  # fmt: skip
        assert words in page
    logistic = trained.metrics["models"]["logistic"]
    assert f"{logistic['auroc']:.3f}" in page
    before = trained.metrics["under_triage"]["before"]["rate"]
    assert f'id="under-before">{100 * before:.1f}%' in page


def test_metrics_match_their_definitions():
    import numpy as np
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    p = np.round(rng.random(2000) * 0.5 + y * rng.random(2000) * 0.4, 2)  # with ties
    assert auroc(y, p) == roc_auc_score(y, p)
    assert abs(auprc(y, p) - average_precision_score(y, p)) < 1e-12
    rates = under_triage([1, 1, 1, 0, 1], [4, 5, 2, 4, 1])
    assert rates == {"rate": 0.5, "among_levels_4_5": 2 / 3, "critical_at_4_5": 2}
