"""Deterministic clinical scoring: NEWS2 and the structured-data risk floor."""

from shared.clinical.news2 import score_news2
from shared.clinical.risk import assess

__all__ = ["assess", "score_news2"]
