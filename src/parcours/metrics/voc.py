"""Voice of the customer: NPS, CSAT, CES with their margins of error.

* **NPS** (Reichheld 2003, "The One Number You Need to Grow", HBR): share of promoters
  (9–10) minus share of detractors (0–6), on a 0–10 scale, ×100. With p and d those
  shares and n answers, its standard error is ``100·sqrt((p + d − (p − d)²) / n)`` and the
  95 % margin of error is 1.96 times that (the variance of a difference of multinomial
  shares; see e.g. Rocks 2016, "The standard error of the Net Promoter Score").
* **CSAT**: share of satisfied answers, the top two boxes (4–5 on 1–5; on a stated scale,
  the two highest points), ×100, with a Wilson score interval (Wilson 1927).
* **CES** (Gartner CES 2.0, "The company made it easy for me to handle my issue", 1–7):
  share of answers above the scale's midpoint (5–7 on 1–7), ×100, with a Wilson interval,
  and the mean score.

Skipped answers (no score) are counted apart and kept out of every denominator.
"""

from __future__ import annotations

from typing import Any

from parcours.metrics.stats import Z95, wilson


def _answers(responses: Any, metric: str) -> Any:
    return responses.filter(responses.metric == metric)


def _count(responses: Any, metric: str, by: list[str] | None, **extra: Any) -> Any:
    """n answered and skipped per group, plus ``extra`` aggregates (functions of the answers)."""
    r = _answers(responses, metric)
    answered = r.score.notnull()
    return (r.group_by(by) if by else r).aggregate(
        n=answered.cast("int64").sum(), skipped=(~answered).cast("int64").sum(),
        **{name: f(r) for name, f in extra.items()})


def _share(agg: Any, k: str, name: str, by: list[str] | None) -> Any:
    out = agg.mutate(**{name: 100 * agg[k].cast("float64") / agg.n}, **wilson(agg[k], agg.n, name))
    return out.filter(out.n > 0) if by else out


def nps(responses: Any, by: list[str] | None = None) -> Any:
    """Net Promoter Score per group: n, promoters, passives, detractors, skipped, nps, se, moe95."""
    agg = _count(responses, "nps", by, promoters=lambda r: (r.score >= 9).cast("int64").sum(),
                 detractors=lambda r: (r.score <= 6).cast("int64").sum())
    n = agg.n.cast("float64")
    p, d = agg.promoters / n, agg.detractors / n
    se = 100 * ((p + d - (p - d) ** 2) / n).sqrt()
    out = agg.mutate(passives=agg.n - agg.promoters - agg.detractors, nps=100 * (p - d), se=se,
                     moe95=Z95 * se)
    return out.filter(out.n > 0) if by else out


def csat(responses: Any, by: list[str] | None = None) -> Any:
    """CSAT per group: n, satisfied, skipped, csat (% top-two-box) and its Wilson 95 % interval."""
    agg = _count(responses, "csat", by, satisfied=lambda r: (r.score >= r.scale_max - 1).cast("int64").sum(),
                 mean=lambda r: r.score.mean())
    return _share(agg, "satisfied", "csat", by)


def ces(responses: Any, by: list[str] | None = None) -> Any:
    """CES per group: n, easy (above the midpoint), skipped, ces (% easy) with Wilson interval, mean."""
    mid = lambda r: (r.scale_min + r.scale_max).cast("float64") / 2  # noqa: E731
    agg = _count(responses, "ces", by, easy=lambda r: (r.score > mid(r)).cast("int64").sum(),
                 mean=lambda r: r.score.mean())
    return _share(agg, "easy", "ces", by)


__all__ = ["ces", "csat", "nps", "nps_change"]


def nps_change(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Is the change of NPS between two periods significant?

    ``before`` and ``after`` are rows of :func:`nps` (independent samples). The difference's
    standard error is ``sqrt(se₁² + se₂²)``; z = Δ / se and the two-sided p-value come from the
    normal distribution (the large-sample test of a difference of two NPS, Rocks 2016). With no
    answers on either side the result says so instead of inventing a zero.
    """
    import math

    if not before.get("n") or not after.get("n"):
        return {"delta": None, "se": None, "moe95": None, "z": None, "p_value": None, "significant": None,
                "n_before": before.get("n") or 0, "n_after": after.get("n") or 0}
    delta = after["nps"] - before["nps"]
    se = math.hypot(before["se"], after["se"])
    z = delta / se if se > 0 else (math.inf if delta else 0.0)
    p = math.erfc(abs(z) / math.sqrt(2)) if math.isfinite(z) else 0.0
    return {"delta": delta, "se": se, "moe95": Z95 * se, "z": z, "p_value": p, "significant": p < 0.05,
            "n_before": before["n"], "n_after": after["n"]}
