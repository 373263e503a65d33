"""Where the company stands: Ovum's four maturity levels measured on its own data
(:mod:`parcours.maturity.ovum`), Temkin's four competencies by self-assessment
(:mod:`parcours.maturity.temkin`), and Temkin's tips from seed 003 as advice for the weakest
points (:mod:`parcours.maturity.tips`). docs/maturity.md gives the criteria and thresholds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from parcours.maturity.ovum import LEVELS, Assessment, Criterion, assess
from parcours.maturity.temkin import STATEMENTS, MaturityError, latest, record
from parcours.maturity.tips import COMPETENCIES, advice
from parcours.store import Store

__all__ = ["COMPETENCIES", "LEVELS", "STATEMENTS", "Assessment", "Criterion", "MaturityError", "advice", "assess",
           "latest", "record", "summary"]


def summary(store: Store, start: date | datetime | None = None, end: date | datetime | None = None,
            lang: str = "en") -> dict[str, Any]:
    """Everything the maturity page and ``GET /api/v1/maturity`` show: the Ovum level with each
    criterion's evidence, the latest Temkin self-assessment, and the tips for the weak points
    (failed criteria, weakest competencies) in ``lang``."""
    lang = lang if lang in ("fr", "en") else "en"
    a = assess(store, start, end)
    self_assessment = latest(store, lang)
    weak = self_assessment["weakest"] if self_assessment else []
    return {**a.to_dict(), "temkin": self_assessment,
            "advice": advice(failed_criteria=a.failed, weak=weak, lang=lang), "language": lang}
