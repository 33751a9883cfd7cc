"""Evidence in the text, highlighted: the spans the reasons point at, escaped like the rest."""

from __future__ import annotations

from typing import Any

from flask import Flask
from markupsafe import Markup, escape


def highlight(text: str, reasons: list[dict[str, Any]], source: str) -> Markup:
    """`text` with each reason's span for `source` wrapped in <mark title="rule">."""
    spans = sorted(
        (r["start"], r["end"], r["detail"])
        for r in reasons
        if r.get("source") == source
        and isinstance(r.get("start"), int)
        and isinstance(r.get("end"), int)
        and 0 <= r["start"] < r["end"] <= len(text)
    )
    out, at = Markup(""), 0
    for start, end, detail in spans:
        if start < at:
            continue  # overlapping evidence: the first span is already marked
        out += escape(text[at:start])
        out += Markup('<mark title="{}">{}</mark>').format(detail, text[start:end])
        at = end
    return out + escape(text[at:])


def init_app(app: Flask) -> None:
    app.add_template_filter(highlight, "highlight")
