"""Ovum's four levels of customer-experience maturity, measured on the company's own data.

Seed 003 (Ovum): 1 *departmental* — silos, no overall view, no consistent experience;
2 *multichannel* — channels added without integration; 3 *omnichannel* — the customer is
recognised at every step and the experience is the same whatever the channel;
4 *customer-adaptive* ("client-dynamique") — on top of that, anticipation and adaptation.

Five criteria, each computed on the store for a period ``[start, end)`` with its figures, n
and evidence (docs/maturity.md gives the formulas and why the thresholds):

* ``identity`` — one customer recognised across channels: inbound contacts attached to a
  known person (≥ 95 %), and persons with two or more contacts whose contacts span two or
  more channels (≥ 20 %; a siloed store, one person per channel identifier, shows ~0 %).
* ``context`` — context carried between channels: of the channel hops inside an episode
  (:func:`parcours.metrics.journeys.episodes`, the cases set aside so that a hop may land on
  another case), the share landing on the same case (≥ 80 %); a new case means the customer
  started over and was asked again.
* ``consistency`` — scores alike across channels: CSAT and NPS of answers by the channel of
  their case; a channel fails it when it is below the other channels by more than 10 CSAT
  (20 NPS) points *and* the 95 % interval of the gap excludes 0; chi-square test reported.
* ``physical_remote`` — stores against remote channels: the same gap rule on store − remote.
* ``proactive`` — rules enabled and firing, outreach sent, and its effect: the answers of the
  30 days after an outreach, sent against held back by the contact-pressure budget (a natural
  comparison group), the 95 % Welch interval of the gap above 0.

Level: 1 unless ``identity`` is met; 2 unless ``context``, ``consistency`` and
``physical_remote`` are also met; 3 unless ``proactive`` is met too; else 4.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

from parcours.metrics import journeys
from parcours.metrics.stats import Z95
from parcours.store import Store
from parcours.store.sql import period

__all__ = ["LEVELS", "Assessment", "Check", "Criterion", "assess", "level_of", "newcombe_diff", "nps_diff",
           "welch_diff"]

# -- thresholds (docs/maturity.md says why) ------------------------------------------------
MIN_N = 30                      # answers or hops a group needs before its figure counts as evidence
ATTACHED_MIN = 95.0             # % of inbound contacts attached to a known person
CROSS_CHANNEL_MIN = 20.0        # % of persons with ≥ 2 contacts whose contacts span ≥ 2 channels
SAME_CASE_MIN = 80.0            # % of channel hops that land on the same case
GAP_MAX = {"csat": 10.0, "nps": 20.0}   # points below the others that make a channel inconsistent
PHYSICAL = ("store",)           # channels where the customer is in the same place as the company
OUTREACH_WINDOW_DAYS = 30       # answers counted after an outreach
SCALES = {"nps": (0, 10), "csat": (1, 5)}

LEVELS: dict[int, dict[str, str]] = {
    1: {"en": "Departmental", "fr": "Entreprise organisée en départements"},
    2: {"en": "Multichannel", "fr": "Entreprise multicanal"},
    3: {"en": "Omnichannel", "fr": "Entreprise omnicanal"},
    4: {"en": "Customer-adaptive", "fr": "Entreprise client-dynamique"},
}
LEVEL_TEXT: dict[int, dict[str, str]] = {
    1: {"en": "No overall view: silos keep the experience from being coherent and constant.",
        "fr": "Pas de vision d’ensemble : le découpage en silos ne permet pas une expérience cohérente et constante."},
    2: {"en": "Channels were added without integration: silos remain and the experience breaks between them.",
        "fr": "On ajoute des canaux sans intégration : les silos demeurent et l’expérience s’interrompt."},
    3: {"en": "The customer is recognised at every step and the experience is the same on every channel.",
        "fr": "Le client est reconnu à chaque étape et l’expérience est homogène quel que soit le canal."},
    4: {"en": "A constant, high experience plus anticipation and adaptation: the company acts before the problem.",
        "fr": "Une expérience constante et de haut niveau, plus l’anticipation et l’adaptation : "
              "l’entreprise agit avant le problème."},
}
#: the criteria each level adds
LEVEL_NEEDS: dict[int, tuple[str, ...]] = {2: ("identity",), 3: ("context", "consistency", "physical_remote"),
                                           4: ("proactive",)}


@dataclass
class Check:
    """One measured condition of a criterion: value against threshold."""

    id: str
    name: dict[str, str]
    value: float | None
    threshold: float
    op: str                 # ">=" (value must reach the threshold) or "<=" (must not exceed it)
    unit: str
    n: int
    passed: bool


@dataclass
class Criterion:
    id: str
    name: dict[str, str]
    checks: list[Check]
    evidence: dict[str, str]
    todo: dict[str, str]
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def value(self) -> float | None:
        return self.checks[0].value if self.checks else None

    @property
    def threshold(self) -> float | None:
        return self.checks[0].threshold if self.checks else None

    @property
    def n(self) -> int:
        return self.checks[0].n if self.checks else 0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "passed": self.passed, "value": self.value,
                "threshold": self.threshold, "n": self.n, "checks": [asdict(c) for c in self.checks],
                "evidence": self.evidence, "todo": self.todo, "figures": self.figures}


@dataclass
class Assessment:
    level: int
    criteria: list[Criterion]
    start: datetime | None
    end: datetime | None

    @property
    def name(self) -> dict[str, str]:
        return LEVELS[self.level]

    def criterion(self, cid: str) -> Criterion:
        return next(c for c in self.criteria if c.id == cid)

    @property
    def failed(self) -> list[str]:
        return [c.id for c in self.criteria if not c.passed]

    @property
    def next_needs(self) -> list[str]:
        """The unmet criteria that keep the company from the next level."""
        if self.level == 4:
            return []
        return [cid for cid in LEVEL_NEEDS[self.level + 1] if not self.criterion(cid).passed]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "name": self.name, "description": LEVEL_TEXT[self.level],
                "start": self.start, "end": self.end, "next_needs": self.next_needs,
                "criteria": [c.to_dict() for c in self.criteria]}


def level_of(passed: dict[str, bool]) -> int:
    """The level from the criteria met (see the module): each level needs the ones below."""
    level = 1
    for nxt in (2, 3, 4):
        if not all(passed.get(cid, False) for cid in LEVEL_NEEDS[nxt]):
            break
        level = nxt
    return level


# -- statistics -------------------------------------------------------------------------
def _wilson(k: int, n: int) -> tuple[float, float]:
    p, z2 = k / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def newcombe_diff(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """p₁ − p₂ and its 95 % interval, in points (×100): Newcombe's hybrid score interval
    from two Wilson intervals (Newcombe 1998, *Statistics in Medicine* 17:873, method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = _wilson(k1, n1), _wilson(k2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return 100 * d, 100 * low, 100 * high


def _nps(prom: int, det: int, n: int) -> tuple[float, float]:
    p, d = prom / n, det / n
    return 100 * (p - d), 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)


def nps_diff(a: tuple[int, int, int], b: tuple[int, int, int]) -> tuple[float, float, float]:
    """NPS_a − NPS_b and its 95 % interval; each side (promoters, detractors, n). The standard
    error of an NPS is 100·√((p + d − (p − d)²)/n) and the two sides are independent (Rocks 2016),
    as in :func:`parcours.metrics.voc.nps_change`."""
    (na, sa), (nb, sb) = _nps(*a), _nps(*b)
    d, se = na - nb, math.hypot(sa, sb)
    return d, d - Z95 * se, d + Z95 * se


def welch_diff(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """mean(x) − mean(y) and its 95 % Welch interval (unequal variances, Welch–Satterthwaite
    degrees of freedom; Welch 1947). Both groups need two values; constant groups give a
    zero-width interval rather than a division by zero."""
    from scipy.stats import t

    n1, n2 = len(x), len(y)
    m1, m2 = sum(x) / n1, sum(y) / n2
    v1 = sum((a - m1) ** 2 for a in x) / (n1 - 1) / n1
    v2 = sum((b - m2) ** 2 for b in y) / (n2 - 1) / n2
    d, se = m1 - m2, math.sqrt(v1 + v2)
    if se == 0:
        return d, d, d
    df = (v1 + v2) ** 2 / (v1 ** 2 / (n1 - 1) + v2 ** 2 / (n2 - 1))
    half = float(t.ppf(0.975, df)) * se
    return d, d - half, d + half


def _gap_fails(d: float, low: float, high: float, limit: float, *, below_only: bool) -> bool:
    """A gap counts when it is beyond ``limit`` and its interval excludes 0 (noise alone fails no one)."""
    if below_only:
        return d < -limit and high < 0
    return abs(d) > limit and (high < 0 or low > 0)


# -- formatting of evidence -----------------------------------------------------------------
def _f(v: float | None, lang: str, digits: int = 1, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    s = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    return s.replace(",", "\u202f").replace(".", ",") if lang == "fr" else s


def _both(make: Any) -> dict[str, str]:
    return {"en": make("en"), "fr": make("fr")}



def _share(k: int, n: int) -> float | None:
    return 100.0 * k / n if n else None


INBOUND = "kind = 'contact' AND (direction IS NULL OR direction = 'inbound')"


# -- the criteria ---------------------------------------------------------------------------
def _identity(store: Store, start: datetime | None, end: datetime | None) -> Criterion:
    where, args = period(start, end, "ts")
    # one statement: the period's contacts scanned once, per person once, their identifiers once
    rows = store.query(f"""
        WITH c AS MATERIALIZED (SELECT person_id, channel FROM touchpoints WHERE {INBOUND} AND {where}),
        p AS MATERIALIZED (SELECT person_id, count(*) AS k, count(DISTINCT channel) AS ch FROM c
                            WHERE person_id IS NOT NULL GROUP BY person_id),
        i AS MATERIALIZED (SELECT person_id, kind, count(*) AS k FROM identities
                            WHERE person_id IN (SELECT person_id FROM p) GROUP BY ALL)
        SELECT 'totals', NULL, (SELECT count(*) FROM c),
               (SELECT count(*) FROM c WHERE person_id IN (SELECT person_id FROM persons)),
               (SELECT count(DISTINCT channel) FROM c), (SELECT count(*) FROM p),
               (SELECT count(*) FROM p WHERE k >= 2), (SELECT count(*) FROM p WHERE k >= 2 AND ch >= 2),
               (SELECT count(*) FROM (SELECT person_id FROM i GROUP BY person_id HAVING count(*) >= 2))
        UNION ALL
        SELECT 'kind', CAST(kind AS VARCHAR), sum(k), count(*), NULL, NULL, NULL, NULL, NULL FROM i GROUP BY kind
        """, args)
    contacts, attached, channels, persons, multi, cross, several = rows[0][2:]
    kinds = sorted((r[1], r[2], r[3]) for r in rows[1:])
    attached_pct, cross_pct = _share(attached, contacts), _share(cross, multi)
    checks = [
        Check("cross_channel", {"en": "persons with 2+ contacts recognised on 2+ channels",
                                "fr": "personnes à 2 contacts ou plus reconnues sur 2 canaux ou plus"},
              cross_pct, CROSS_CHANNEL_MIN, ">=", "%", multi,
              multi >= MIN_N and channels >= 2 and (cross_pct or 0) >= CROSS_CHANNEL_MIN),
        Check("attached", {"en": "inbound contacts attached to a known person",
                           "fr": "contacts entrants rattachés à une personne connue"},
              attached_pct, ATTACHED_MIN, ">=", "%", contacts, contacts > 0 and (attached_pct or 0) >= ATTACHED_MIN),
    ]
    by_kind = {k: {"identifiers": int(s), "persons": int(p), "per_person": s / persons if persons else None}
               for k, s, p in kinds}
    figures = {"contacts": contacts, "attached": attached, "channels": channels, "persons": persons,
               "persons_multi_contact": multi, "persons_cross_channel": cross, "identifiers_by_kind": by_kind,
               "persons_several_kinds": several, "persons_several_kinds_share": _share(several, persons)}

    def evidence(lang: str) -> str:
        if not contacts:
            return ("Aucun contact entrant sur la période : rien ne montre qu’un client est reconnu d’un canal "
                    "à l’autre." if lang == "fr" else
                    "No inbound contact in the period: nothing shows a customer recognised from one channel "
                    "to another.")
        if lang == "fr":
            return (f"{_f(attached_pct, lang)} % des {_f(contacts, lang, 0)} contacts entrants sont rattachés à "
                    f"une personne connue ; {_f(cross_pct, lang)} % des {_f(multi, lang, 0)} personnes ayant "
                    f"contacté 2 fois ou plus l’ont fait sur 2 canaux ou plus ({channels} canaux en usage) ; "
                    f"{_f(_share(several, persons), lang)} % des personnes ont des identifiants de 2 sortes "
                    "ou plus.")
        return (f"{_f(attached_pct, lang)} % of {_f(contacts, lang, 0)} inbound contacts are attached to a known "
                f"person; {_f(cross_pct, lang)} % of the {_f(multi, lang, 0)} persons with 2 or more contacts used "
                f"2 or more channels ({channels} channels in use); {_f(_share(several, persons), lang)} % of the "
                "persons have identifiers of 2 or more kinds.")

    todo = {"en": "Recognise the customer on every channel: import the CRM's identities (e-mail, phone, app, "
                  "social) so that identity resolution links them (docs/identity.md), ask for an identifier "
                  "before a chat goes to an agent, and attach store visits and calls to the person.",
            "fr": "Reconnaître le client sur chaque canal : importer les identités du CRM (e-mail, téléphone, "
                  "application, réseaux sociaux) pour que la résolution d’identité les relie (docs/identity.md), "
                  "demander un identifiant avant de passer un chat à un conseiller, rattacher visites en "
                  "magasin et appels à la personne."}
    return Criterion("identity", {"en": "Identity across channels", "fr": "Identité d’un canal à l’autre"},
                     checks, _both(evidence), todo, figures)


def _context(store: Store, start: datetime | None, end: datetime | None) -> Criterion:
    import ibis

    t = store.table("touchpoints")
    c = journeys.contacts(t)
    if start is not None:
        c = c.filter(c.ts >= start)
    if end is not None:
        c = c.filter(c.ts < end)
    # the case is set aside: episodes follow the issue (person, topic, 7-day gap), so that a hop
    # to another channel may land on another case — which is what we look for
    c = c.filter(c.person_id.notnull()).mutate(case_ref=c.case_id.cast("string"), case_id=ibis.null("string"))
    e = journeys.episodes(c)
    w = ibis.window(group_by=e.episode_id, order_by=[e.ts, e.event_id])
    h = e.mutate(prev_channel=e.channel.lag().over(w), prev_case=e.case_ref.lag().over(w))
    hops = h.filter(h.prev_channel.notnull() & (h.prev_channel != h.channel))
    known = hops.case_ref.notnull() & hops.prev_case.notnull()
    agg = hops.aggregate(hops=hops.count(), same=(known & (hops.case_ref == hops.prev_case)).cast("int64").sum(),
                         new=(known & (hops.case_ref != hops.prev_case)).cast("int64").sum())
    n_hops, same, new = (int(v or 0) for v in agg.to_pyarrow().to_pylist()[0].values())
    no_case = n_hops - same - new
    where, args = period(start, end, "ts")
    cases, multi_cases = store.query(f"""
        SELECT count(*), count(*) FILTER (ch >= 2) FROM (
          SELECT case_id, count(DISTINCT channel) AS ch FROM touchpoints
           WHERE {INBOUND} AND {where} AND case_id IS NOT NULL GROUP BY case_id)""", args)[0]
    same_pct = _share(same, n_hops)
    checks = [Check("same_case", {"en": "channel hops landing on the same case",
                                  "fr": "changements de canal qui arrivent sur le même dossier"},
                    same_pct, SAME_CASE_MIN, ">=", "%", n_hops, n_hops >= MIN_N and (same_pct or 0) >= SAME_CASE_MIN)]
    figures = {"hops": n_hops, "same_case": same, "new_case": new, "no_case": no_case,
               "new_case_share": _share(new, n_hops), "cases": cases, "cases_multichannel": multi_cases,
               "cases_multichannel_share": _share(multi_cases, cases)}

    def evidence(lang: str) -> str:
        if n_hops < MIN_N:
            return (f"{n_hops} changements de canal sur la période (il en faut {MIN_N}) : trop peu pour juger."
                    if lang == "fr" else
                    f"{n_hops} channel hops in the period ({MIN_N} needed): too few to judge.")
        if lang == "fr":
            return (f"Sur {_f(n_hops, lang, 0)} changements de canal au sein d’un même épisode, "
                    f"{_f(same_pct, lang)} % arrivent sur le même dossier, {_f(_share(new, n_hops), lang)} % "
                    f"sur un nouveau dossier (le client recommence et répète sa demande), "
                    f"{_f(_share(no_case, n_hops), lang)} % sans dossier ; "
                    f"{_f(_share(multi_cases, cases), lang)} % des {_f(cases, lang, 0)} dossiers réunissent "
                    "des contacts de plusieurs canaux.")
        return (f"Of {_f(n_hops, lang, 0)} channel hops inside an episode, {_f(same_pct, lang)} % land on the same "
                f"case, {_f(_share(new, n_hops), lang)} % on a new case (the customer starts over and repeats the "
                f"question), {_f(_share(no_case, n_hops), lang)} % on no case; "
                f"{_f(_share(multi_cases, cases), lang)} % of the {_f(cases, lang, 0)} cases hold contacts from "
                "several channels.")

    todo = {"en": "Carry the context: link a contact on a new channel to the issue already open (the desk "
                  "links e-mail, chat, phone and store contacts to the open case of the person), show agents "
                  "the customer's history, and never ask for what the case already says.",
            "fr": "Transmettre le contexte : rattacher un contact sur un nouveau canal au dossier déjà ouvert "
                  "(le desk relie e-mails, chats, appels et visites au dossier ouvert de la personne), montrer "
                  "l’historique au conseiller, ne jamais redemander ce que le dossier dit déjà."}
    name = {"en": "Context carried between channels", "fr": "Contexte transmis d’un canal à l’autre"}
    return Criterion("context", name, checks, _both(evidence), todo, figures)


def _answers_by_channel(store: Store, start: datetime | None, end: datetime | None) -> list[tuple[Any, ...]]:
    """Rows (metric, channel, n, top, promoters, detractors) of CSAT and NPS answers, by the
    channel of their case (else of the contact that triggered them)."""
    where, args = period(start, end, "r.ts")
    return store.query(f"""
        WITH r AS (SELECT r.metric, r.score, coalesce(r.scale_max, CASE r.metric WHEN 'csat' THEN 5 ELSE 10 END) AS top,
                          r.case_id, r.event_id
                     FROM responses r WHERE r.score IS NOT NULL AND r.metric IN ('csat', 'nps') AND {where}),
        ev AS (SELECT event_id, channel FROM touchpoints
                WHERE event_id IN (SELECT event_id FROM r WHERE case_id IS NULL AND event_id IS NOT NULL))
        SELECT CAST(r.metric AS VARCHAR), CAST(coalesce(k.channel, ev.channel) AS VARCHAR) AS channel, count(*),
               count(*) FILTER (r.score >= r.top - 1), count(*) FILTER (r.score >= 9), count(*) FILTER (r.score <= 6)
          FROM r LEFT JOIN cases k USING (case_id) LEFT JOIN ev USING (event_id)
         WHERE coalesce(k.channel, ev.channel) IS NOT NULL
         GROUP BY ALL ORDER BY 1, 2""", args)


def _gap(metric: str, a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[float, float, float]:
    """Score of group a − group b with its 95 % interval; groups (n, top, promoters, detractors)."""
    if metric == "csat":
        return newcombe_diff(a[1], a[0], b[1], b[0])
    return nps_diff((a[2], a[3], a[0]), (b[2], b[3], b[0]))


def _score(metric: str, g: tuple[int, int, int, int]) -> float:
    return 100.0 * g[1] / g[0] if metric == "csat" else _nps(g[2], g[3], g[0])[0]


def _sum(rows: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return tuple(sum(r[i] for r in rows) for i in range(4))  # type: ignore[return-value]


def _chi2(metric: str, groups: dict[str, tuple[int, int, int, int]]) -> dict[str, Any] | None:
    """Chi-square test of homogeneity of the answers' categories across channels (Pearson 1900):
    satisfied / not for CSAT, promoter / passive / detractor for NPS."""
    from scipy.stats import chi2_contingency

    if len(groups) < 2:
        return None
    table = [[g[1], g[0] - g[1]] if metric == "csat" else [g[2], g[0] - g[2] - g[3], g[3]] for g in groups.values()]
    cols = [j for j in range(len(table[0])) if any(row[j] for row in table)]  # an empty category has no expectation
    if len(cols) < 2:
        return {"chi2": 0.0, "dof": 0, "p_value": 1.0}
    res = chi2_contingency([[row[j] for j in cols] for row in table], correction=False)
    return {"chi2": float(res.statistic), "dof": int(res.dof), "p_value": float(res.pvalue)}


def _consistency(rows: list[tuple[Any, ...]]) -> Criterion:
    checks, figures = [], {}
    for metric in ("csat", "nps"):
        all_groups = {ch: (n, top, pro, det) for m, ch, n, top, pro, det in rows if m == metric}
        big = {ch: g for ch, g in all_groups.items() if g[0] >= MIN_N}
        per = []
        for ch, g in big.items():
            rest = _sum([v for c, v in all_groups.items() if c != ch])
            if not rest[0]:
                continue
            d, low, high = _gap(metric, g, rest)
            per.append({"channel": ch, "n": g[0], "score": _score(metric, g), "gap": d, "low": low, "high": high,
                        "below": _gap_fails(d, low, high, GAP_MAX[metric], below_only=True)})
        small = sorted(ch for ch, g in all_groups.items() if g[0] < MIN_N)
        figures[metric] = {"channels": sorted(per, key=lambda r: r["gap"]), "too_few": small,
                           "chi2": _chi2(metric, big), "n": sum(g[0] for g in all_groups.values())}
        if len(per) >= 2:
            worst = min(per, key=lambda r: r["gap"])
            checks.append(Check(f"{metric}_gap", {"en": f"worst channel's {metric.upper()} gap to the others",
                                                  "fr": f"écart de {metric.upper()} du pire canal aux autres"},
                                worst["gap"], -GAP_MAX[metric], ">=", "pts", figures[metric]["n"],
                                not any(r["below"] for r in per)))
    if not checks:  # not enough answers on two channels for either metric: not shown to be consistent
        checks.append(Check("csat_gap", {"en": "worst channel's CSAT gap to the others",
                                         "fr": "écart de CSAT du pire canal aux autres"},
                            None, -GAP_MAX["csat"], ">=", "pts", figures["csat"]["n"], False))

    def evidence(lang: str) -> str:
        parts = []
        for metric in ("csat", "nps"):
            fig = figures[metric]
            if len(fig["channels"]) < 2:
                parts.append(f"{metric.upper()} : moins de 2 canaux avec {MIN_N} réponses ou plus"
                             if lang == "fr" else f"{metric.upper()}: fewer than 2 channels with {MIN_N}+ answers")
                continue
            below = [r for r in fig["channels"] if r["below"]]
            chi = fig["chi2"]
            worst = fig["channels"][0]
            test = (f"χ² = {_f(chi['chi2'], lang, 1)}, ddl {chi['dof']}, p = {_f(chi['p_value'], lang, 3)}"
                    if lang == "fr" else f"χ² = {_f(chi['chi2'], lang, 1)}, df {chi['dof']}, p = "
                    f"{_f(chi['p_value'], lang, 3)}") if chi else ""
            if lang == "fr":
                verdict = ("canaux nettement en dessous : " + ", ".join(r["channel"] for r in below)) if below else \
                    "aucun canal nettement en dessous"
                parts.append(f"{metric.upper()} sur {_f(fig['n'], lang, 0)} réponses, {len(fig['channels'])} canaux "
                             f"comparés ; pire écart {worst['channel']} {_f(worst['gap'], lang, 1, True)} pts "
                             f"[{_f(worst['low'], lang, 1, True)} ; {_f(worst['high'], lang, 1, True)}] ; {verdict} "
                             f"(seuil {_f(GAP_MAX[metric], lang, 0)} pts ; {test})")
            else:
                verdict = ("channels clearly below: " + ", ".join(r["channel"] for r in below)) if below else \
                    "no channel clearly below"
                parts.append(f"{metric.upper()} on {_f(fig['n'], lang, 0)} answers, {len(fig['channels'])} channels "
                             f"compared; worst gap {worst['channel']} {_f(worst['gap'], lang, 1, True)} pts "
                             f"[{_f(worst['low'], lang, 1, True)}, {_f(worst['high'], lang, 1, True)}]; {verdict} "
                             f"(threshold {_f(GAP_MAX[metric], lang, 0)} pts; {test})")
        return ". ".join(parts) + "."

    todo = {"en": "Bring the weakest channel up to the others: read its verbatims and its unresolved contacts, "
                  "give it the answers and the rights the best channel has, and survey it enough to tell.",
            "fr": "Remonter le canal le plus faible au niveau des autres : lire ses verbatims et ses contacts non "
                  "résolus, lui donner les réponses et les droits du meilleur canal, et l’interroger assez pour "
                  "en juger."}
    return Criterion("consistency", {"en": "Scores consistent across channels",
                                     "fr": "Scores homogènes d’un canal à l’autre"},
                     checks, _both(evidence), todo, figures)


def _physical_remote(rows: list[tuple[Any, ...]]) -> Criterion:
    checks, figures = [], {}
    for metric in ("csat", "nps"):
        phys = _sum([(n, t, p, d) for m, ch, n, t, p, d in rows if m == metric and ch in PHYSICAL])
        remote = _sum([(n, t, p, d) for m, ch, n, t, p, d in rows if m == metric and ch not in PHYSICAL])
        fig: dict[str, Any] = {"n_physical": phys[0], "n_remote": remote[0]}
        if phys[0] >= MIN_N and remote[0] >= MIN_N:
            d, low, high = _gap(metric, phys, remote)
            fails = _gap_fails(d, low, high, GAP_MAX[metric], below_only=False)
            fig.update(physical=_score(metric, phys), remote=_score(metric, remote), gap=d, low=low, high=high,
                       fails=fails)
            checks.append(Check(f"{metric}_gap", {"en": f"{metric.upper()} gap, store − remote",
                                                  "fr": f"écart de {metric.upper()}, magasin − à distance"},
                                d, GAP_MAX[metric], "|<=|", "pts", phys[0] + remote[0], not fails))
        figures[metric] = fig
    if not checks:
        checks.append(Check("csat_gap", {"en": "CSAT gap, store − remote", "fr": "écart de CSAT, magasin − à distance"},
                            None, GAP_MAX["csat"], "|<=|", "pts", figures["csat"]["n_physical"], False))

    def evidence(lang: str) -> str:
        parts = []
        for metric in ("csat", "nps"):
            fig = figures[metric]
            if "gap" not in fig:
                parts.append(f"{metric.upper()} : {fig['n_physical']} réponses après un contact en magasin et "
                             f"{fig['n_remote']} à distance (il en faut {MIN_N} de chaque côté)" if lang == "fr" else
                             f"{metric.upper()}: {fig['n_physical']} answers after a store contact and "
                             f"{fig['n_remote']} after a remote one ({MIN_N} needed on each side)")
                continue
            ci = (f"[{_f(fig['low'], lang, 1, True)} ; {_f(fig['high'], lang, 1, True)}]" if lang == "fr"
                  else f"[{_f(fig['low'], lang, 1, True)}, {_f(fig['high'], lang, 1, True)}]")
            parts.append(
                f"{metric.upper()} magasin {_f(fig['physical'], lang)} (n = {_f(fig['n_physical'], lang, 0)}) contre "
                f"à distance {_f(fig['remote'], lang)} (n = {_f(fig['n_remote'], lang, 0)}) : écart "
                f"{_f(fig['gap'], lang, 1, True)} pts {ci}, seuil ± {_f(GAP_MAX[metric], lang, 0)} pts"
                if lang == "fr" else
                f"{metric.upper()} store {_f(fig['physical'], lang)} (n = {_f(fig['n_physical'], lang, 0)}) against "
                f"remote {_f(fig['remote'], lang)} (n = {_f(fig['n_remote'], lang, 0)}): gap "
                f"{_f(fig['gap'], lang, 1, True)} pts {ci}, threshold ± {_f(GAP_MAX[metric], lang, 0)} pts")
        return ". ".join(parts) + "."

    todo = {"en": "Give stores and remote channels the same means: the same customer history and case on both "
                  "sides, the same answers and authority to settle, and the store's good practices written "
                  "into the remote teams' macros (or the other way round).",
            "fr": "Donner les mêmes moyens au magasin et à la distance : même historique et même dossier des deux "
                  "côtés, mêmes réponses et même latitude pour régler, et les bonnes pratiques du magasin "
                  "reprises dans les macros des équipes à distance (ou l’inverse)."}
    name = {"en": "Physical and remote alike", "fr": "Physique et distance au même niveau"}
    return Criterion("physical_remote", name, checks, _both(evidence), todo, figures)


def _proactive(store: Store, start: datetime | None, end: datetime | None) -> Criterion:
    enabled, rules = store.query("SELECT count(*) FILTER (enabled), count(*) FROM rules")[0]
    wf, af = period(start, end, "fired_at")
    firings, firing_rules = store.query(f"SELECT count(*), count(DISTINCT rule_id) FROM rule_firings WHERE {wf}",
                                        af)[0]
    wo, ao = period(start, end, "o.created_at")
    statuses = dict(store.query(f"SELECT status, count(*) FROM outreach o WHERE {wo} GROUP BY status", ao))
    # each outreach's answers in the window after the decision to send or hold it (as
    # parcours.act.outreach.effect), scores on 0–100 so that NPS and CSAT answers pool
    norm = " + ".join(f"CASE WHEN r.metric = '{m}' THEN 100.0 * (r.score - coalesce(r.scale_min, {lo})) / "
                      f"(coalesce(r.scale_max, {hi}) - coalesce(r.scale_min, {lo})) ELSE 0 END"
                      for m, (lo, hi) in SCALES.items())
    per = store.query(f"""
        SELECT o.status, avg({norm}), count(*),
               avg(r.score) FILTER (r.metric = 'nps'), avg(r.score) FILTER (r.metric = 'csat')
          FROM outreach o JOIN responses r ON r.person_id = o.person_id
           AND r.ts > coalesce(o.decided_at, o.created_at)
           AND r.ts <= coalesce(o.decided_at, o.created_at) + INTERVAL {OUTREACH_WINDOW_DAYS} DAY
         WHERE {wo} AND o.status IN ('sent', 'held') AND r.score IS NOT NULL AND r.metric IN ('nps', 'csat')
         GROUP BY o.outreach_id, o.status""", ao)
    sent = [r[1] for r in per if r[0] == "sent"]
    held = [r[1] for r in per if r[0] == "held"]
    effect = None
    if len(sent) >= 2 and len(held) >= 2:
        d, low, high = welch_diff(sent, held)
        effect = {"gap": d, "low": low, "high": high}

    def mean(values: list[float | None]) -> float | None:
        xs = [float(x) for x in values if x is not None]
        return sum(xs) / len(xs) if xs else None

    figures = {"rules": rules, "rules_enabled": enabled, "firings": firings, "rules_fired": firing_rules,
               "outreach": statuses, "answered_sent": len(sent), "answered_held": len(held),
               "score_sent": mean(sent), "score_held": mean(held), "effect": effect,
               "nps_mean_sent": mean([r[3] for r in per if r[0] == "sent"]),
               "nps_mean_held": mean([r[3] for r in per if r[0] == "held"]),
               "csat_mean_sent": mean([r[4] for r in per if r[0] == "sent"]),
               "csat_mean_held": mean([r[4] for r in per if r[0] == "held"])}
    acting = enabled >= 1 and firings >= 1 and statuses.get("sent", 0) >= 1
    checks = [
        Check("effect", {"en": "effect of outreach on later scores (sent − held back, 0–100)",
                         "fr": "effet des contacts proactifs sur les scores suivants (envoyés − retenus, 0–100)"},
              effect["gap"] if effect else None, 0.0, ">", "pts", len(sent) + len(held),
              bool(effect and effect["low"] > 0)),
        Check("acting", {"en": "rules enabled, firing and reaching customers",
                         "fr": "règles actives, déclenchées et qui atteignent les clients"},
              float(firings), 1.0, ">=", "", int(statuses.get("sent", 0)), acting),
    ]

    def evidence(lang: str) -> str:
        if not rules:
            return ("Aucune règle proactive définie : l’entreprise ne fait que réagir." if lang == "fr" else
                    "No proactive rule defined: the company only reacts.")
        head = (f"{enabled} règle(s) active(s) sur {rules}, {_f(firings, lang, 0)} déclenchements sur la période ; "
                f"contacts proactifs envoyés {_f(statuses.get('sent', 0), lang, 0)}, retenus par le plafond de "
                f"sollicitation {_f(statuses.get('held', 0), lang, 0)}. " if lang == "fr" else
                f"{enabled} of {rules} rules enabled, {_f(firings, lang, 0)} firings in the period; outreach sent "
                f"{_f(statuses.get('sent', 0), lang, 0)}, held back by the contact-pressure budget "
                f"{_f(statuses.get('held', 0), lang, 0)}. ")
        if effect is None:
            return head + (f"Réponses dans les {OUTREACH_WINDOW_DAYS} jours : {len(sent)} après envoi, {len(held)} "
                           "après retenue — trop peu pour mesurer un effet (2 de chaque côté au moins)."
                           if lang == "fr" else
                           f"Answers within {OUTREACH_WINDOW_DAYS} days: {len(sent)} after a sent outreach, "
                           f"{len(held)} after a held one — too few to measure an effect (2 on each side at least).")
        ci = (f"[{_f(effect['low'], lang, 1, True)} ; {_f(effect['high'], lang, 1, True)}]" if lang == "fr"
              else f"[{_f(effect['low'], lang, 1, True)}, {_f(effect['high'], lang, 1, True)}]")
        return head + (f"Score moyen (0–100) des réponses dans les {OUTREACH_WINDOW_DAYS} jours : "
                       f"{_f(mean(sent), lang)} après envoi (n = {len(sent)}) contre {_f(mean(held), lang)} après "
                       f"retenue (n = {len(held)}), écart {_f(effect['gap'], lang, 1, True)} pts {ci}."
                       if lang == "fr" else
                       f"Mean score (0–100) of answers within {OUTREACH_WINDOW_DAYS} days: {_f(mean(sent), lang)} "
                       f"after a sent outreach (n = {len(sent)}) against {_f(mean(held), lang)} after a held one "
                       f"(n = {len(held)}), gap {_f(effect['gap'], lang, 1, True)} pts {ci}.")

    todo = {"en": "Act before the problem: enable rules on the moments that matter (a detractor, a customer "
                  "hopping channels on one issue, an SLA at risk, a churn risk), let the contact-pressure budget "
                  "hold some back, and compare the scores of both groups.",
            "fr": "Agir avant le problème : activer des règles sur les moments qui comptent (un détracteur, un "
                  "client qui change de canal pour un même problème, un SLA menacé, un risque d’attrition), "
                  "laisser le plafond de sollicitation en retenir une partie, et comparer les scores des deux "
                  "groupes."}
    return Criterion("proactive", {"en": "Proactive actions and their effect",
                                   "fr": "Actions proactives et leur effet"}, checks, _both(evidence), todo, figures)


# -- the assessment --------------------------------------------------------------------------
def _as_datetime(d: date | datetime | None) -> datetime | None:
    if d is None or isinstance(d, datetime):
        return d
    return datetime.combine(d, time.min, timezone.utc)


_GUARD = threading.Lock()


def assess(store: Store, start: date | datetime | None = None, end: date | datetime | None = None) -> Assessment:
    """The level and the evidence of each criterion for ``[start, end)`` (dates are UTC days).
    Kept until the data change (the store's change counter, and the rules' firings and outreach)."""
    start, end = _as_datetime(start), _as_datetime(end)
    key, kept = (start, end), store.memo.setdefault("maturity", OrderedDict())
    # the rules' thread writes firings and outreach without moving the change counter: their
    # counts (small tables, cheap to count) are part of the version
    version = (store.changes, *store.query(
        "SELECT (SELECT count(*) FROM rules WHERE enabled), (SELECT count(*) FROM rule_firings), "
        "(SELECT count(*) FROM outreach WHERE status IN ('sent', 'held'))")[0])
    with _GUARD:
        hit = kept.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
    rows = _answers_by_channel(store, start, end)
    criteria = [_identity(store, start, end), _context(store, start, end), _consistency(rows),
                _physical_remote(rows), _proactive(store, start, end)]
    got = Assessment(level_of({c.id: c.passed for c in criteria}), criteria, start, end)
    with _GUARD:
        kept[key] = (version, got)
        kept.move_to_end(key)
        while len(kept) > 16:
            kept.popitem(last=False)
    return got
