"""Churn features and label per customer, as of a date, from the store (SQL on DuckDB).

Everything is measured on what happened strictly before ``as_of`` (the model never sees the
future it predicts). The population is the **customers** at ``as_of``: persons with at least
one purchase (a positive order) before it and no ``cancellation`` touchpoint before it.

Features (:data:`NUMERIC`, :data:`CATEGORICAL`; labels for people in :data:`LABELS`):

* RFM (Hughes 1994; Fader, Hardie & Lee 2005 "RFM and CLV"): days since the last purchase,
  purchases and net spend in the last 365 days, purchases in the last 90, mean order value,
  refunds in the last 365 days; tenure (days since the relationship started: the earliest of
  ``persons.created_at``, the first order and the first inbound touchpoint, as
  :func:`parcours.metrics.loyalty.relationships` defines it); days since the last inbound
  activity (visits, app, contacts…) and visits in the last 90 days;
* service: inbound contacts in the last 90 days; cases open at ``as_of``; and, over the
  episodes of :mod:`parcours.metrics.journeys` (one issue across channels) that ended in the
  last 180 days: episodes not resolved (given up or still open), given up (last contact
  unresolved or abandoned: :func:`~parcours.metrics.journeys.episode_summary`), *channel hops*
  (episodes on two channels or more) and the worst contact pain
  (:func:`~parcours.metrics.features.episode_features`' ``peak_pain``);
* voice: the last NPS, CSAT and CES answers before ``as_of`` (missing when never answered:
  silent is not satisfied, seed 004) and the share of negative verbatims in the last 365 days
  (``verbatim_analysis``, missing when nothing was analysed);
* segment.

**Label** (:func:`labels`): a customer *churns* over the ``horizon`` after ``as_of`` if a
``cancellation`` touchpoint occurs in [as_of, as_of + horizon) — the contractual end of
:func:`parcours.metrics.loyalty.contractual_churn` — or if they are not active again in it —
the non-contractual churn of :func:`parcours.metrics.loyalty.retention`, with its two meanings
of *active*: ``any`` inbound activity except a cancellation (default), or a ``purchase``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import numpy as np
import pyarrow as pa

from parcours.metrics.features import episode_features
from parcours.metrics.journeys import GAVE_UP, contacts, episode_summary, episodes
from parcours.store import Store
from parcours.store.sql import registered

Activity = Literal["any", "purchase"]
ACTIVITIES: tuple[str, ...] = ("any", "purchase")
EPISODE_WINDOW_DAYS = 180

NUMERIC: tuple[str, ...] = (
    "recency_days", "orders_365d", "orders_90d", "spend_365d", "avg_order", "refunds_365d", "tenure_days",
    "inactive_days", "visits_90d", "contacts_90d", "open_cases", "unresolved_180d", "gave_up_180d",
    "channel_hops_180d", "peak_pain_180d", "nps", "csat", "ces", "negative_verbatims",
)
CATEGORICAL: tuple[str, ...] = ("segment",)

#: Feature → (French, English) wording shown to agents and managers.
LABELS: dict[str, tuple[str, str]] = {
    "recency_days": ("Jours depuis le dernier achat", "Days since last purchase"),
    "orders_365d": ("Achats sur 12 mois", "Purchases in 12 months"),
    "orders_90d": ("Achats sur 90 jours", "Purchases in 90 days"),
    "spend_365d": ("Dépense nette sur 12 mois (€)", "Net spend in 12 months (€)"),
    "avg_order": ("Panier moyen (€)", "Average order (€)"),
    "refunds_365d": ("Remboursements sur 12 mois", "Refunds in 12 months"),
    "tenure_days": ("Ancienneté (jours)", "Tenure (days)"),
    "inactive_days": ("Jours sans aucune activité", "Days without any activity"),
    "visits_90d": ("Visites sur 90 jours", "Visits in 90 days"),
    "contacts_90d": ("Contacts au service client sur 90 jours", "Service contacts in 90 days"),
    "open_cases": ("Demandes ouvertes", "Open cases"),
    "unresolved_180d": ("Problèmes non résolus (180 j)", "Unresolved issues (180 days)"),
    "gave_up_180d": ("Abandons (180 j)", "Gave up (180 days)"),
    "channel_hops_180d": ("Problèmes traités sur plusieurs canaux (180 j)", "Issues across channels (180 days)"),
    "peak_pain_180d": ("Pire moment d'un contact (180 j)", "Worst contact pain (180 days)"),
    "nps": ("Dernière note NPS (0–10)", "Last NPS score (0–10)"),
    "csat": ("Dernière satisfaction CSAT (1–5)", "Last CSAT (1–5)"),
    "ces": ("Dernier effort CES (1–7)", "Last CES (1–7)"),
    "negative_verbatims": ("Part de verbatims négatifs", "Share of negative comments"),
    "segment": ("Segment", "Segment"),
}


class FeatureError(ValueError):
    """The store cannot give features or labels as asked (no orders, horizon not observed…)."""


def data_end(store: Store) -> datetime | None:
    """The latest timestamp of touchpoints and orders (None for an empty store)."""
    return store.query("SELECT greatest((SELECT max(ts) FROM touchpoints), (SELECT max(ts) FROM orders))")[0][0]


def _episodes(store: Store, as_of: datetime) -> pa.Table:
    """Per episode ended before ``as_of``: person_id, ended, resolved, gave_up, channels, peak_pain —
    the episodes and features of :mod:`parcours.metrics` (one definition of an issue), on the
    contacts before ``as_of``."""
    tp = store.table("touchpoints")
    tp = tp.filter(tp.person_id.notnull() & (tp.ts < as_of))
    eps = episodes(contacts(tp))
    feats = episode_features(tp, episodes_t=eps).select("episode_id", "person_id", "ended", "resolved",
                                                        "channels", "peak_pain")
    summ = episode_summary(eps).select("episode_id", "last_outcome")
    j = feats.left_join(summ, "episode_id")
    j = j.mutate(gave_up=j.last_outcome.isin(GAVE_UP).fill_null(False))
    return j.select("person_id", "ended", "resolved", "gave_up", "channels", "peak_pain").to_pyarrow()


FEATURES_SQL = """
WITH buys AS (
  SELECT person_id,
         max(ts) FILTER (WHERE amount > 0) AS last_order,
         min(ts) FILTER (WHERE amount > 0) AS first_order,
         count(*) FILTER (WHERE amount > 0 AND ts >= $d - INTERVAL 365 DAY) AS orders_365d,
         count(*) FILTER (WHERE amount > 0 AND ts >= $d - INTERVAL 90 DAY) AS orders_90d,
         coalesce(sum(amount) FILTER (WHERE ts >= $d - INTERVAL 365 DAY), 0)::DOUBLE AS spend_365d,
         avg(amount) FILTER (WHERE amount > 0)::DOUBLE AS avg_order,
         count(*) FILTER (WHERE amount < 0 AND ts >= $d - INTERVAL 365 DAY) AS refunds_365d
  FROM orders WHERE person_id IS NOT NULL AND ts < $d GROUP BY person_id
  HAVING count(*) FILTER (WHERE amount > 0) > 0),
gone AS (SELECT DISTINCT person_id FROM touchpoints
         WHERE kind = 'cancellation' AND person_id IS NOT NULL AND ts < $d),
base AS (SELECT b.* FROM buys b ANTI JOIN gone g ON g.person_id = b.person_id),
acts AS (
  SELECT t.person_id,
         min(t.ts) AS first_seen,
         max(t.ts) FILTER (WHERE t.kind <> 'cancellation') AS last_activity,
         count(*) FILTER (WHERE t.kind = 'contact' AND t.ts >= $d - INTERVAL 90 DAY) AS contacts_90d,
         count(*) FILTER (WHERE t.kind IN ('visit', 'usage') AND t.ts >= $d - INTERVAL 90 DAY) AS visits_90d
  FROM touchpoints t SEMI JOIN base b ON b.person_id = t.person_id
  WHERE t.ts < $d AND (t.direction IS NULL OR t.direction = 'inbound')
  GROUP BY t.person_id),
open_cases AS (
  SELECT person_id, count(*) AS open_cases FROM cases
  WHERE person_id IS NOT NULL AND opened_at < $d
    AND (closed_at >= $d OR (closed_at IS NULL AND status NOT IN ('resolved', 'closed')))
  GROUP BY person_id),
eps AS (
  SELECT person_id,
         count(*) FILTER (WHERE NOT coalesce(resolved, false)) AS unresolved_180d,
         count(*) FILTER (WHERE gave_up) AS gave_up_180d,
         count(*) FILTER (WHERE channels >= 2) AS channel_hops_180d,
         max(peak_pain) AS peak_pain_180d
  FROM _churn_episodes WHERE ended >= $d - INTERVAL {window} DAY GROUP BY person_id),
answers AS (
  SELECT person_id,
         arg_max(score, ts) FILTER (WHERE metric = 'nps') AS nps,
         arg_max(score, ts) FILTER (WHERE metric = 'csat') AS csat,
         arg_max(score, ts) FILTER (WHERE metric = 'ces') AS ces
  FROM responses WHERE person_id IS NOT NULL AND score IS NOT NULL AND ts < $d GROUP BY person_id),
voice AS (
  SELECT r.person_id, avg((a.label = 'negative')::INTEGER)::DOUBLE AS negative_verbatims
  FROM responses r JOIN verbatim_analysis a ON a.response_id = r.response_id
  WHERE r.person_id IS NOT NULL AND r.ts < $d AND r.ts >= $d - INTERVAL 365 DAY GROUP BY r.person_id)
SELECT b.person_id,
       date_diff('second', b.last_order, $d) / 86400.0 AS recency_days,
       b.orders_365d::DOUBLE AS orders_365d, b.orders_90d::DOUBLE AS orders_90d, b.spend_365d, b.avg_order,
       b.refunds_365d::DOUBLE AS refunds_365d,
       date_diff('second', least(coalesce(p.created_at, b.first_order), b.first_order,
                                 coalesce(a.first_seen, b.first_order)), $d) / 86400.0 AS tenure_days,
       date_diff('second', greatest(b.last_order, coalesce(a.last_activity, b.last_order)), $d) / 86400.0
         AS inactive_days,
       coalesce(a.visits_90d, 0)::DOUBLE AS visits_90d, coalesce(a.contacts_90d, 0)::DOUBLE AS contacts_90d,
       coalesce(o.open_cases, 0)::DOUBLE AS open_cases,
       coalesce(e.unresolved_180d, 0)::DOUBLE AS unresolved_180d,
       coalesce(e.gave_up_180d, 0)::DOUBLE AS gave_up_180d,
       coalesce(e.channel_hops_180d, 0)::DOUBLE AS channel_hops_180d,
       coalesce(e.peak_pain_180d, 0)::DOUBLE AS peak_pain_180d,
       n.nps::DOUBLE AS nps, n.csat::DOUBLE AS csat, n.ces::DOUBLE AS ces, v.negative_verbatims,
       coalesce(p.segment, 'unknown') AS segment
FROM base b
LEFT JOIN persons p ON p.person_id = b.person_id
LEFT JOIN acts a ON a.person_id = b.person_id
LEFT JOIN open_cases o ON o.person_id = b.person_id
LEFT JOIN eps e ON e.person_id = b.person_id
LEFT JOIN answers n ON n.person_id = b.person_id
LEFT JOIN voice v ON v.person_id = b.person_id
ORDER BY b.person_id
"""


def features(store: Store, as_of: datetime) -> pa.Table:
    """One row per customer at ``as_of`` (see the module docstring): person_id, the
    :data:`NUMERIC` features (DOUBLE, null when unknown) and the :data:`CATEGORICAL` ones."""
    if not store.query("SELECT count(*) FROM orders WHERE amount > 0 AND person_id IS NOT NULL")[0][0]:
        raise FeatureError("the store holds no purchase with a person: churn is measured on customers "
                           "(persons who bought), import orders first")
    con = store.con
    with registered(con, "_churn_episodes", _episodes(store, as_of)):
        sql = FEATURES_SQL.format(window=EPISODE_WINDOW_DAYS)
        return con.execute(sql, {"d": as_of}).to_arrow_table()


LABEL_SQL = """
WITH who AS (SELECT unnest($ids) AS person_id),
gone AS (SELECT DISTINCT person_id FROM touchpoints
         WHERE kind = 'cancellation' AND person_id IS NOT NULL AND ts >= $d AND ts < $e),
active AS (SELECT DISTINCT person_id FROM (
  SELECT person_id FROM orders WHERE amount > 0 AND person_id IS NOT NULL AND ts >= $d AND ts < $e
  {any_activity}))
SELECT w.person_id, (g.person_id IS NOT NULL OR a.person_id IS NULL) AS churned
FROM who w LEFT JOIN gone g ON g.person_id = w.person_id LEFT JOIN active a ON a.person_id = w.person_id
"""

_ANY = """UNION ALL SELECT person_id FROM touchpoints
  WHERE person_id IS NOT NULL AND ts >= $d AND ts < $e AND kind <> 'cancellation'
    AND (direction IS NULL OR direction = 'inbound')"""


def labels(store: Store, person_ids: list[str], as_of: datetime, horizon_days: int,
           activity: Activity = "any") -> np.ndarray:
    """1.0 for each person of ``person_ids`` who churns in [as_of, as_of + horizon) (see the
    module docstring), else 0.0; FeatureError if the data do not reach the horizon's end."""
    if activity not in ACTIVITIES:
        raise FeatureError(f"activity must be one of {', '.join(ACTIVITIES)}; got {activity!r}")
    if horizon_days <= 0:
        raise FeatureError(f"horizon_days must be positive; got {horizon_days}")
    end = as_of + timedelta(days=horizon_days)
    last = data_end(store)
    if last is None or last < end - timedelta(days=1):
        raise FeatureError(f"the label needs {horizon_days} days observed after {as_of:%Y-%m-%d}: the data end "
                           f"on {last:%Y-%m-%d}" if last else "the store is empty: no data to label")
    sql = LABEL_SQL.format(any_activity=_ANY if activity == "any" else "")
    rows = store.con.execute(sql, {"ids": person_ids, "d": as_of, "e": end}).to_arrow_table()
    churned = dict(zip(rows.column("person_id").to_pylist(), rows.column("churned").to_pylist(), strict=True))
    return np.array([1.0 if churned[p] else 0.0 for p in person_ids])


def columns(table: pa.Table) -> dict[str, np.ndarray]:
    """The model's columns from :func:`features`: floats with NaN for nulls, categories as objects."""
    out: dict[str, np.ndarray] = {}
    for name in NUMERIC:
        out[name] = table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
    for name in CATEGORICAL:
        out[name] = np.array(table.column(name).to_pylist(), dtype=object)
    return out


__all__ = ["ACTIVITIES", "CATEGORICAL", "LABELS", "NUMERIC", "FeatureError", "columns", "data_end", "features",
           "labels"]
