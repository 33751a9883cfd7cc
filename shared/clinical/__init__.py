"""Deterministic clinical scoring: NEWS2, the acuity rules and the engine on a whole case."""

from shared.clinical.engine import assess_case
from shared.clinical.news2 import score_news2

__all__ = ["assess_case", "score_news2"]
