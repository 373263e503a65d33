"""The CX report: voice, service, journeys, loyalty and value in one JSON-ready dict.

Domain logic shared by ``parcours report``, the HTML report and the web app. Every figure is
computed by the Ibis metrics (so the same report runs on DuckDB or Spark), carries its n,
and is flagged ``small_n`` below :data:`SMALL_N`. Shares are percentages (0–100). The JSON
is documented in docs/report.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from functools import partial
from typing import Any

import ibis

from parcours import metrics
from parcours.analysis.threads import one_blas_thread
from parcours.metrics import dimensions, journeys
from parcours.metrics.stats import SMALL_N
from parcours.schema import CHANNELS, IDENTIFIER_COLUMNS


def _clean(v: Any) -> Any:
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else round(v, 4)
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    if isinstance(v, datetime):  # engines return UTC times, with or without the zone (Spark)
        return (v if v.tzinfo else v.replace(tzinfo=timezone.utc)).astimezone(timezone.utc).isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if type(v).__name__ == "Decimal":
        return float(v)
    return v


def rows(expr: Any) -> list[dict[str, Any]]:
    """Execute an Ibis expression; its rows as JSON-ready dicts."""
    return [_clean(r) for r in expr.to_pyarrow().to_pylist()]


def _one(expr: Any) -> dict[str, Any]:
    r = rows(expr)
    return r[0] if r else {}


def _flag(d: dict[str, Any], n_key: str = "n") -> dict[str, Any]:
    d["small_n"] = (d.get(n_key) or 0) < SMALL_N
    return d


def _ci(d: dict[str, Any], prefix: str) -> list[float | None]:
    return [d.get(f"{prefix}_low"), d.get(f"{prefix}_high")]


# -- sections ---------------------------------------------------------------------------
def voice(responses: Any, previous: Any = None) -> dict[str, Any]:
    n = _one(metrics.nps(responses))
    c = _one(metrics.csat(responses))
    e = _one(metrics.ces(responses))
    out = {
        "nps": _flag({"score": n.get("nps"), "moe95": n.get("moe95"), "se": n.get("se"), "n": n.get("n") or 0,
                      "promoters": n.get("promoters") or 0, "passives": n.get("passives") or 0,
                      "detractors": n.get("detractors") or 0, "skipped": n.get("skipped") or 0}),
        "csat": _flag({"score": c.get("csat"), "ci95": _ci(c, "csat"), "n": c.get("n") or 0,
                       "satisfied": c.get("satisfied") or 0, "mean": c.get("mean"), "skipped": c.get("skipped") or 0}),
        "ces": _flag({"share_easy": e.get("ces"), "ci95": _ci(e, "ces"), "mean": e.get("mean"), "n": e.get("n") or 0,
                      "easy": e.get("easy") or 0, "skipped": e.get("skipped") or 0}),
    }
    if previous is not None:
        before = _one(metrics.nps(previous))
        out["nps"]["change"] = _clean(metrics.nps_change(before, n)) | {"previous_score": before.get("nps")}
    return out


def journey_section(touchpoints: Any, responses: Any, top_paths: int = 10, eps: Any | None = None,
                    contacts_t: Any | None = None) -> dict[str, Any]:
    # episodes, flags and summaries feed a dozen figures: computed once, kept by the engine
    if eps is None:
        eps = journeys.episodes(journeys.contacts(touchpoints)).cache()
    flags = journeys.contact_flags(eps).cache()
    summary = journeys.episode_summary(eps).cache()
    matrix = rows(journeys.channel_switching(eps))
    used = sorted({r["from_channel"] for r in matrix} | {r["to_channel"] for r in matrix}, key=_channel_order)
    switch: dict[str, dict[str, int]] = {}
    share: dict[str, dict[str, float]] = {}
    for r in matrix:
        switch.setdefault(r["from_channel"], {})[r["to_channel"]] = r["n"]
        share.setdefault(r["from_channel"], {})[r["to_channel"]] = _clean(100 * r["share"])
    preceded = rows(journeys.preceded_by_other_channel(flags))
    avoid = _one(journeys.avoidable_contacts(flags))
    avoid_other = _one(journeys.avoidable_contacts(flags, other_channel=True))
    calls = _one(journeys.continue_after(flags, "phone"))
    gave_up = _one(journeys.give_up(summary))
    gave_up_calls = _one(journeys.give_up(summary, channel="phone"))
    eff = _one(journeys.effort(summary))
    by_earlier = {}
    for r in rows(journeys.preceded_by(flags)):
        if r["k"]:
            by_earlier.setdefault(r["channel"], {})[r["earlier_channel"]] = r["share"]

    def part(d: dict[str, Any]) -> dict[str, Any]:
        return _flag({"share": d.get("share"), "ci95": _ci(d, "share"), "n": d.get("n") or 0, "k": d.get("k") or 0})

    chat_after = (100 * calls["then_chat"] / calls["n"]) if calls.get("n") else None
    return {
        "episodes": eff.get("n") or 0,
        "channels": used,
        "switch_matrix": switch,
        "switch_share": share,
        "preceded_by_other_channel": {r["channel"]: r["share"]
                                      for r in sorted(preceded, key=lambda r: _channel_order(r["channel"]))},
        "preceded_by_other_channel_n": {r["channel"]: r["n"] for r in preceded},
        "preceded_by": by_earlier,
        "avoidable_share": avoid.get("share"),
        "avoidable": part(avoid),
        "avoidable_other_channel": part(avoid_other),
        "continue_after_call_share": calls.get("share"),
        "continue_after_call": part(calls),
        "chat_after_call_share": _clean(chat_after),
        "give_up_share": gave_up.get("share"),
        "give_up": part(gave_up),
        "give_up_calls": part(gave_up_calls),
        "effort": _flag({k: eff.get(k) for k in ("n", "contacts_mean", "contacts_median", "contacts_p90",
                                                 "channels_mean", "multichannel", "duration_h_median")}),
        "top_paths": rows(journeys.paths(eps, top=top_paths)),
        "variants": _one(journeys.paths(eps, top=1_000_000).aggregate(n=lambda t: t.count())).get("n", 0),
        "funnel": rows(journeys.stage_funnel(touchpoints)),
        "peak_end": rows(journeys.peak_end(eps, responses)),
        "moments": {r.pop("channel"): r
                    for r in rows(journeys.moments(contacts_t if contacts_t is not None else touchpoints))},
    }


def _channel_order(c: str) -> int:
    return CHANNELS.index(c) if c in CHANNELS else len(CHANNELS)


def breakdown(t: dict[str, Any], dim: str) -> dict[str, Any]:
    """NPS, CSAT, CES, avoidable contacts, and the service desk's times and SLA attainment
    (cases: an agent is the assignee) per value of one dimension."""
    out: dict[str, Any] = {"dimension": dim, "rows": {}, "not_sliceable": []}
    persons = t["persons"]

    def put(name: str, make: Callable[[], Any], fields: dict[str, str]) -> None:
        try:
            for r in rows(make()):
                key = str(r.get(dim))
                out["rows"].setdefault(key, {})[name] = _flag({k: r.get(v) for k, v in fields.items()})
        except dimensions.NotSliceable:
            out["not_sliceable"].append(name)

    resp = lambda: dimensions.add_dimension(t["responses"], dim, persons)  # noqa: E731
    put("nps", lambda: metrics.nps(resp(), by=[dim]), {"score": "nps", "moe95": "moe95", "n": "n"})
    put("csat", lambda: metrics.csat(resp(), by=[dim]), {"score": "csat", "low": "csat_low", "high": "csat_high",
                                                          "n": "n"})
    put("ces", lambda: metrics.ces(resp(), by=[dim]), {"share_easy": "ces", "low": "ces_low", "high": "ces_high",
                                                        "mean": "mean", "n": "n"})

    def flags() -> Any:  # a dimension column does not change how contacts group into episodes
        eps = t.get("episodes")
        if eps is None:
            eps = journeys.episodes(journeys.contacts(t["touchpoints"]))
        return journeys.contact_flags(dimensions.add_dimension(eps, dim, persons))
    # a contact's own channel when slicing by channel (an episode mixes channels)
    put("avoidable", lambda: journeys.avoidable_contacts(flags(), by=[dim]), {"share": "share", "n": "n"})

    from parcours.metrics import service

    case_t = lambda: dimensions.add_dimension(t["cases"], dim, persons)  # noqa: E731
    times = {"median_h": "median_h", "p90_h": "p90_h", "n": "n"}
    put("first_response", lambda: service.first_response_time(case_t(), t["messages"], by=[dim]), times)
    put("resolution", lambda: service.resolution_time(case_t(), by=[dim]), times)
    put("sla", lambda: service.sla_attainment(case_t(), t["messages"], by=[dim], default="standard"),
        {"response": "response", "response_n": "response_n", "resolution": "resolution",
         "resolution_n": "resolution_n", "n": "n"})
    return out


#: touchpoint columns that no figure about contacts reads
UNREAD_BY_CONTACT_FIGURES = ("text", "import_id", *IDENTIFIER_COLUMNS)


def build_tables(t: dict[str, Any], *, start: date | None = None, end: date | None = None,
                 by: list[str] | None = None, sections: dict[str, Callable[..., Any]] | None = None,
                 where: dict[str, str] | None = None) -> dict[str, Any]:
    """The report over tables ``t`` (name → Ibis table) on any engine, for [start, end),
    optionally kept to a channel, segment or stage (``where``, see dimensions.FILTERS)."""
    if where:
        t = dimensions.restrict(t, **where)
    lo = datetime.combine(start, datetime.min.time(), timezone.utc) if start else None
    hi = datetime.combine(end, datetime.min.time(), timezone.utc) if end else None
    if lo and hi and hi <= lo:
        raise ValueError(f"--to ({end}) must be after --from ({start})")
    cut = {name: (dimensions.between(tbl, lo, hi) if name != "persons" and name != "identities" else tbl)
           for name, tbl in t.items()}
    previous = None
    # the previous period of the same length, to test the change of NPS (none before year 1)
    if lo and hi and hi - lo <= lo - datetime.min.replace(tzinfo=timezone.utc):
        previous = dimensions.between(t["responses"], lo - (hi - lo), lo)
    counts = {name: _one(tbl.aggregate(n=tbl.count())).get("n", 0) for name, tbl in cut.items()}
    span = _one(cut["touchpoints"].aggregate(first=cut["touchpoints"].ts.min(), last=cut["touchpoints"].ts.max()))
    rep: dict[str, Any] = {
        "period": {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
                   "first_event": span.get("first"), "last_event": span.get("last")},
        "counts": counts,
        "filters": dict(where or {}),
        "small_n_threshold": SMALL_N,
    }
    rep |= voice(cut["responses"], previous)
    # derived tables several sections read: computed once, kept by the engine
    from parcours.metrics.features import episode_features
    # the contact figures read no free text and no identifier: left out of the cached copy, since
    # a filtered scan reads every column it keeps in full (text alone costs 0.5 s at 10 M touchpoints)
    contacts_t = journeys.contacts(cut["touchpoints"])
    cut["contacts"] = contacts_t.drop(*[c for c in UNREAD_BY_CONTACT_FIGURES if c in contacts_t.columns]).cache()
    cut["episodes"] = journeys.episodes(cut["contacts"]).cache()
    cut["episode_features"] = episode_features(cut["touchpoints"], episodes_t=cut["episodes"]).cache()
    rep["journeys"] = journey_section(cut["touchpoints"], cut["responses"], eps=cut["episodes"],
                                      contacts_t=cut["contacts"])
    # A section may return a callable: the pure-Python rest of its work (model fits in numpy),
    # run in a worker thread while the engine computes the next sections, then collected.
    # BLAS on one thread meanwhile: the engine's queries use every core.
    with one_blas_thread(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-fit") as pool:
        pending = {}
        for name, fn in (sections or default_sections()).items():
            got = fn(cut, start, end)
            if callable(got):
                pending[name] = pool.submit(got)
            else:
                rep[name] = got
        rep |= {name: f.result() for name, f in pending.items()}
    if by:
        rep["breakdowns"] = [breakdown(cut, d) for d in by]
    return rep


def default_sections() -> dict[str, Callable[..., Any]]:
    """Sections beyond voice and journeys, each a function of (tables, start, end) giving a
    dict, or a callable that finishes it off the engine. The ones with model fits come first,
    so that their fits overlap the next sections' queries."""
    from parcours.value.summary import value_inputs, value_of

    return {
        "value": lambda t, start, end: partial(value_of, value_inputs(t["orders"], end)),
        "loyalty": loyalty_section,
        "service": service_section,
        "promises": promises_section,
    }


#: journey features that explain scores and churn (docs/metrics-loyalty.md)
SCORE_DRIVERS = ["contacts", "switches", "unresolved", "reopens", "max_wait_excess", "peak_pain", "end_pain"]
CHURN_DRIVERS = ["contacts", "switches", "unresolved_episodes", "max_wait_excess", "orders", "tenure_days"]


def loyalty_section(t: dict[str, Any], start: date | None, end: date | None) -> Callable[[], dict[str, Any]]:
    """Retention and churn per quarter, cohorts, loyalty × satisfaction, segments and drivers
    (the driver models are fitted by the callable returned)."""
    from parcours.metrics import features, loyalty, segments

    as_of = datetime.combine(end, datetime.min.time(), timezone.utc) if end else None
    p, o, r, tp = t["persons"], t["orders"], t["responses"], t["touchpoints"]
    # start and end of each relationship: read by contractual churn and the churn drivers
    rel = loyalty.relationships(tp, p, o).cache()
    out: dict[str, Any] = {
        "retention": rows(loyalty.retention(o, period="quarter")),
        "contractual_churn": rows(loyalty.contractual_churn(tp, p, o, period="quarter", relationships_t=rel)),
        "cohorts": rows(loyalty.cohort_retention(o, period="quarter")),
        "loyalty_vs_satisfaction": rows(loyalty.loyalty_matrix(loyalty.loyalty_satisfaction(p, o, r, tp, as_of=as_of))),
        "segments": {"rfm": rows(segments.segment_sizes(segments.rfm(o, p, as_of=as_of), "segment")),
                     "behaviour": rows(segments.segment_sizes(segments.behaviour(t.get("contacts", tp), p),
                                                              "segment"))},
    }
    done = {"episodes_t": t.get("episodes"), "features_t": t.get("episode_features")}
    # through Arrow: Ibis' own pandas conversion costs seconds on 500,000 rows, for the same dtypes
    answers = features.answer_features(r, tp, o, **done).to_pyarrow().to_pandas()
    people = features.person_features(tp, p, o, as_of=as_of, relationships_t=rel, **done).to_pyarrow().to_pandas()
    return lambda: out | {"drivers": drivers(answers, people)}


def drivers(answers: Any, people: Any) -> dict[str, Any]:
    """Key drivers of NPS and CSAT (per answer) and of churn (per person), or why not."""
    from parcours.analysis import DriverError, churn_drivers, score_drivers

    got: dict[str, Any] = {}
    fits = {m: (lambda m=m: score_drivers(answers[answers.metric == m], "score", SCORE_DRIVERS))
            for m in ("nps", "csat")}
    fits["churn"] = lambda: churn_drivers(people, "churned", CHURN_DRIVERS, positive=True)
    for name, fit in fits.items():
        try:
            got[name] = _records(fit())
        except DriverError as e:  # e.g. nobody left in the period: say so, do not invent drivers
            got[name] = {"note": str(e)}
    return got


def _records(df: Any) -> list[dict[str, Any]]:
    return [_clean(r) for r in df.to_dict("records")]


def service_section(t: dict[str, Any], start: date | None, end: date | None) -> dict[str, Any]:
    """Service desk figures; cases without a known SLA policy get the standard one."""
    from parcours.metrics import service

    as_of = datetime.combine(end, datetime.min.time(), timezone.utc) if end else None
    last = t["touchpoints"].ts.max().to_pyarrow().as_py()  # the data end of the contact figures
    out: dict[str, Any] = {}
    for name, expr in service.service_summary(t["cases"], t["messages"], t["touchpoints"], default="standard",
                                              as_of=as_of, contacts_t=t.get("contacts"),
                                              contacts_end=as_of or last, episodes_t=t.get("episodes"),
                                              keep=lambda tbl: tbl.cache()).items():
        if name.endswith("_by_channel"):  # most contacts first, the same order on every engine
            expr = expr.order_by([ibis.desc("n"), "channel"])
        got = [_flag(r) for r in rows(expr)]
        out[name] = got if name.endswith("_by_channel") else (got[0] if got else {"n": 0, "small_n": True})
    return out


def promises_section(t: dict[str, Any], start: date | None, end: date | None) -> dict[str, Any]:
    """Promises kept on time, overall, by kind and by channel (docs/promises.md), judged at the
    period's end, else at the data end (``as_of``)."""
    from parcours.metrics import promises as pm

    as_of = datetime.combine(end, datetime.min.time(), timezone.utc) if end else None
    p = t["promises"]
    state = pm.with_state(p, as_of=as_of)
    known = _one(state.aggregate(as_of=state._end.max(), made=state.count()))
    return {
        "as_of": known.get("as_of"),
        "made": known.get("made") or 0,
        "overall": _flag(_one(pm.kept_share(p, as_of=as_of)) or {"n": 0}),
        "by_kind": [_flag(r) for r in rows(pm.kept_share(p, by=["kind"], as_of=as_of))],
        "by_channel": [_flag(r) for r in rows(pm.kept_share(p, by=["channel"], as_of=as_of))],
    }


def build(store: Any, **kw: Any) -> dict[str, Any]:
    """The report of an embedded store (what ``parcours report`` and the web app show)."""
    from parcours.engines import duckdb_store

    rep = build_tables(duckdb_store.tables(store), **kw)
    rep["source"] = {"engine": "duckdb", "store": str(store.path)}
    rep["counts"]["quarantine"] = store.counts()["quarantine"]
    return rep


def render_text(rep: dict[str, Any]) -> str:
    """The report for a terminal."""
    src = rep.get("source", {})
    lines = [f"Parcours report — {src.get('store') or src.get('lake') or ''} ({src.get('engine', 'duckdb')})",
             f"Period: {rep['period']['from'] or rep['period']['first_event'] or '—'} → "
             f"{rep['period']['to'] or rep['period']['last_event'] or '—'}", "",
             "Data: " + ", ".join(f"{k} {v:,}" for k, v in rep["counts"].items()), ""]
    few = "  [few answers]"
    n = rep["nps"]
    if n["n"]:
        lines.append(f"NPS   {n['score']:+.1f} ± {n['moe95']:.1f} (95 %)   n={n['n']:,}  promoters {n['promoters']:,} · "
                     f"passives {n['passives']:,} · detractors {n['detractors']:,} · skipped {n['skipped']:,}"
                     + (few if n["small_n"] else ""))
        ch = n.get("change")
        if ch and ch.get("delta") is not None:
            lines.append(f"      vs previous period {ch['previous_score']:+.1f}: Δ {ch['delta']:+.1f} ± {ch['moe95']:.1f}, "
                         f"p = {ch['p_value']:.3f}" + (" (significant)" if ch["significant"] else " (not significant)"))
    c = rep["csat"]
    if c["n"]:
        lines.append(f"CSAT  {c['score']:.1f} %  [{c['ci95'][0]:.1f}–{c['ci95'][1]:.1f}]   n={c['n']:,}  "
                     f"mean {c['mean']:.2f}/5 · skipped {c['skipped']:,}" + (few if c["small_n"] else ""))
    e = rep["ces"]
    if e["n"]:
        lines.append(f"CES   {e['share_easy']:.1f} % easy  [{e['ci95'][0]:.1f}–{e['ci95'][1]:.1f}]   n={e['n']:,}  "
                     f"mean {e['mean']:.2f}/7 · skipped {e['skipped']:,}" + (few if e["small_n"] else ""))
    if not (n["n"] or c["n"] or e["n"]):
        lines.append("No survey answers in this period.")
    j = rep["journeys"]
    if j["episodes"]:
        pct = lambda d: "—" if d.get("share") is None else f"{d['share']:.1f} % (n={d['n']:,})"  # noqa: E731
        lines += ["", f"Journeys: {j['episodes']:,} episodes, {j['effort']['contacts_mean']:.2f} contacts and "
                      f"{j['effort']['channels_mean']:.2f} channels each; {j['variants']:,} path variants",
                  f"  avoidable contacts {pct(j['avoidable'])} · calls continued elsewhere {pct(j['continue_after_call'])}"
                  f" · episodes given up {pct(j['give_up'])}",
                  "  preceded by another channel: " + ", ".join(
                      f"{k} {v:.1f} %" for k, v in j["preceded_by_other_channel"].items() if v is not None)]
        chans = j["channels"]
        lines += ["", "Channel switching inside episodes (row: from, column: to; share of the row)"]
        w = max(len(x) for x in chans) + 2
        lines.append(" " * w + "".join(f"{x:>9}" for x in chans))
        for a in chans:
            row = j["switch_share"].get(a, {})
            lines.append(f"{a:<{w}}" + "".join(f"{row[b]:>8.1f}%" if b in row else f"{'·':>9}" for b in chans))
    else:
        lines += ["", "No service contacts in this period."]
    sv = rep.get("service") or {}
    if (sv.get("resolution") or {}).get("n"):
        fr, rs, ro, fcr = sv["first_response"], sv["resolution"], sv["reopen"], sv["fcr"]
        bot, sla = sv["bot_containment"], sv["sla"]
        h = lambda v: "—" if v is None else f"{v:.1f} h"  # noqa: E731
        p = lambda v: "—" if v is None else f"{v:.1f} %"  # noqa: E731
        lines += ["", f"Service: {rs['n']:,} cases closed; first response median {h(fr.get('median_h'))} "
                      f"(p90 {h(fr.get('p90_h'))}, n={fr['n']:,}); resolution median {h(rs.get('median_h'))} "
                      f"(p90 {h(rs.get('p90_h'))}); reopened {p(ro.get('reopen_rate'))}",
                  f"  first-contact resolution across channels {p(fcr.get('fcr'))} (same channel only "
                  f"{p(fcr.get('fcr_same_channel'))}, n={fcr['n']:,}) · bot containment {p(bot.get('containment'))} "
                  f"(n={bot['n']:,}) · SLA met: response {p(sla.get('response'))}, resolution {p(sla.get('resolution'))}"]
    lo = rep.get("loyalty") or {}
    done = [r for r in lo.get("retention", []) if r.get("complete") and r.get("n")]
    if done:
        last = done[-1]
        lines += ["", f"Loyalty: of {last['n']:,} buyers of the quarter from {last['period']}, "
                      f"{last['retention']:.1f} % bought again the next quarter (churn {last['churn']:.1f} %)"]
        for name, label in (("nps", "NPS"), ("csat", "CSAT"), ("churn", "churn")):
            found = lo.get("drivers", {}).get(name, [])
            top = [d for d in found if d.get("significant")][:3] if isinstance(found, list) else []
            if top:
                lines.append(f"  drivers of {label}: " + ", ".join(
                    f"{d['term']} (odds ratio {d['odds_ratio']:.2f} per SD, {d['share']:.0f} % of the explained)"
                    if name == "churn" else f"{d['term']} (β {d['coef']:+.2f}, {d['share']:.0f} % of R²)" for d in top))
    pr = (rep.get("promises") or {}).get("overall") or {}
    if pr.get("n"):
        kinds = ", ".join(f"{r['kind']} {r['kept_share']:.1f} % (n={r['n']:,})"
                          for r in rep["promises"]["by_kind"] if r.get("n"))
        late = f", late by {pr['late_median_h']:.0f} h (median)" if pr.get("late_median_h") is not None else ""
        lines += ["", f"Promises: {pr['kept_share']:.1f} % kept on time [{pr['kept_share_low']:.1f}–"
                      f"{pr['kept_share_high']:.1f}] (n={pr['n']:,} due): {kinds}; {pr['late']:,} kept late{late}, "
                      f"{pr['overdue']:,} overdue, {pr['n_not_due']:,} not due yet"]
    v = rep.get("value") or {}
    if v.get("clv_52w"):
        c = v["clv_52w"]
        lines += ["", f"Value: {v['customers']:,} customers ({v['repeat_customers']:,} repeat); expected purchases "
                      f"next 52 weeks {v['expected_purchases_52w']['total']:,.0f}; mean P(active) "
                      f"{v['p_alive']['mean']:.2f}; CLV 52 weeks mean {c['mean']:,.2f}, median {c['median']:,.2f}, "
                      f"top 10 % of customers {c['top_decile_share']:.0f} % of it"]
    elif v.get("note"):
        lines += ["", f"Value: {v['note']}"]
    for b in rep.get("breakdowns", []):
        lines += ["", f"By {b['dimension']}:"]
        for key, r in sorted(b["rows"].items()):
            parts = []
            if "nps" in r and r["nps"].get("score") is not None:
                parts.append(f"NPS {r['nps']['score']:+.1f} (n={r['nps']['n']:,})")
            if "csat" in r and r["csat"].get("score") is not None:
                parts.append(f"CSAT {r['csat']['score']:.1f} % (n={r['csat']['n']:,})")
            if "avoidable" in r and r["avoidable"].get("share") is not None:
                parts.append(f"avoidable {r['avoidable']['share']:.1f} % (n={r['avoidable']['n']:,})")
            lines.append(f"  {key:<16} " + " · ".join(parts))
    return "\n".join(lines)


__all__ = ["SMALL_N", "build", "build_tables", "render_text", "rows"]
