"""The case page's model section: every sentence marked AI-generated with model and version,
the licence notice, withheld claims only in the collapsed list, disagreement and caution."""

from __future__ import annotations

import re

from jinja2 import Environment, FileSystemLoader, select_autoescape

from shared.lifecycle_view import model_output_view
from shared.safety import MODEL_OUTPUT_KEY, apply_safety
from tests.support.services import ROOT
from tests.unit.safety.conftest import model_output


def render(care: dict[str, object]) -> str:
    env = Environment(loader=FileSystemLoader(ROOT / "web" / "templates"),
                      autoescape=select_autoescape(["html"]))  # fmt: skip
    return env.get_template("_model_output.html").render(care=care)


def test_the_partial_shows_only_checked_text_marked_as_ai(case, assessment, record, medgemma):  # type: ignore[no-untyped-def]
    safe = apply_safety(
        model_output(summary="Chest pain for 2 hours. HR 150 on arrival.", suggested_acuity=4),
        case=case, assessment=assessment, model=medgemma, record=record, repaired=True,
    )  # fmt: skip
    payload = {"details": {MODEL_OUTPUT_KEY: safe.model_dump(mode="json")}}
    view = model_output_view(payload)
    assert view is not None
    page = render({"model_output": view})
    summary = re.search(r'id="model-summary"[^>]*>(.*?)</p>', page, re.S)
    assert summary and "Chest pain for 2 hours." in summary.group(1)
    assert "HR 150" not in summary.group(1)
    not_found = re.search(r'<details id="model-not-found">(.*?)</details>', page, re.S)
    assert not_found and "HR 150" in not_found.group(1) and "128" in not_found.group(1)
    assert "google/medgemma-4b-it, version 1.0.1" in page
    assert page.count("[AI") >= 3  # summary, acuity reason, each finding and step
    assert "Health AI Developer Foundations Terms of Use" in page and "modified" in page
    assert 'id="model-disagreement"' in page and "4 less-urgent" in page
    assert ('id="model-caution"' in page) == (safe.caution is not None)


def test_no_model_output_no_section_and_a_broken_one_is_never_shown() -> None:
    assert model_output_view({"details": {}}) is None
    assert render({"model_output": None}).strip() == ""
    assert model_output_view({"details": {MODEL_OUTPUT_KEY: {"summary": "HR 190"}}}) is None
