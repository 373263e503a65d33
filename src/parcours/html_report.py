"""The report as one self-contained HTML file: inline CSS and SVG charts, no script, no CDN.

It can be mailed, archived or opened offline; charts are plain SVG so they print well.
"""

from __future__ import annotations

from html import escape
from typing import Any

from parcours.web.i18n import CHANNEL_NAMES

T = {
    "en": {"title": "Customer experience report", "period": "Period", "voice": "Voice of the customer",
           "nps": "Net Promoter Score", "csat": "Satisfaction (CSAT)", "ces": "Ease (CES)", "few": "few answers",
           "answers": "answers", "skipped": "skipped", "journeys": "Journeys", "switching": "Channel switching",
           "switch_help": "Row: channel of a contact; column: channel of the next contact of the same episode; share of the row.",
           "preceded": "Contacts preceded by another channel", "funnel": "Stage funnel", "paths": "Top paths",
           "path": "Path", "share": "Share", "peak_end": "Peak–end: what predicts the score",
           "predictor": "Predictor", "episodes": "episodes", "avoidable": "avoidable contacts",
           "continue": "calls continued elsewhere", "give_up": "episodes given up", "by": "By",
           "data": "Data", "other": "Other sections", "none": "No data in this period.",
           "conversion": "conversion", "reached": "reached", "interval": "95 % interval", "easy": "easy",
           "change": "vs previous period", "significant": "significant", "not_significant": "not significant",
           "service": "Service", "first_response": "First response", "resolution_time": "Resolution",
           "median_h": "median (h)", "p90_h": "p90 (h)", "fcr": "First-contact resolution, all channels",
           "fcr_same": "… counting repeats on the same channel only", "reopen": "Cases reopened",
           "bot": "Bot containment", "sla_response": "SLA met: first response", "sla_resolution": "SLA met: resolution",
           "fcr_by_channel": "First-contact resolution by channel", "loyalty": "Loyalty",
           "retention": "Buyers of a quarter who buy again the next (* period not complete)",
           "cohorts": "Cohort retention (quarters since the first purchase)",
           "loyalty_vs_satisfaction": "Loyalty beside satisfaction", "buyer": "buyer", "reading": "reading",
           "drivers": "What drives", "segments": "Segments", "behaviour": "by behaviour", "value": "Customer value"},
    "fr": {"title": "Rapport expérience client", "period": "Période", "voice": "Voix du client",
           "nps": "Net Promoter Score", "csat": "Satisfaction (CSAT)", "ces": "Facilité (CES)", "few": "peu de réponses",
           "answers": "réponses", "skipped": "sans réponse", "journeys": "Parcours", "switching": "Changements de canal",
           "switch_help": "Ligne : canal d’un contact ; colonne : canal du contact suivant du même épisode ; part de la ligne.",
           "preceded": "Contacts précédés d’un autre canal", "funnel": "Entonnoir des étapes", "paths": "Chemins fréquents",
           "path": "Chemin", "share": "Part", "peak_end": "Pic–fin : ce qui prédit la note",
           "predictor": "Prédicteur", "episodes": "épisodes", "avoidable": "contacts évitables",
           "continue": "appels poursuivis ailleurs", "give_up": "épisodes abandonnés", "by": "Par",
           "data": "Données", "other": "Autres sections", "none": "Aucune donnée sur la période.",
           "conversion": "conversion", "reached": "atteinte", "interval": "intervalle à 95 %", "easy": "facile",
           "change": "vs période précédente", "significant": "significatif", "not_significant": "non significatif",
           "service": "Service", "first_response": "Première réponse", "resolution_time": "Résolution",
           "median_h": "médiane (h)", "p90_h": "p90 (h)", "fcr": "Résolution au premier contact, tous canaux",
           "fcr_same": "… en ne comptant que les relances sur le même canal", "reopen": "Dossiers rouverts",
           "bot": "Confinement du bot", "sla_response": "SLA tenu : première réponse", "sla_resolution": "SLA tenu : résolution",
           "fcr_by_channel": "Résolution au premier contact par canal", "loyalty": "Fidélité",
           "retention": "Acheteurs d’un trimestre qui rachètent le suivant (* période incomplète)",
           "cohorts": "Rétention par cohorte (trimestres depuis le premier achat)",
           "loyalty_vs_satisfaction": "Fidélité et satisfaction", "buyer": "acheteur", "reading": "lecture",
           "drivers": "Ce qui explique", "segments": "Segments", "behaviour": "par comportement", "value": "Valeur client"},
}

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1d2733}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #d5dbe3;padding-bottom:.3rem}
.muted{color:#5b6675}.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:1rem}
.kpi{border:1px solid #d5dbe3;border-radius:.5rem;padding:1rem}.big{font-size:2rem;font-weight:700;margin:.2rem 0}
.warn{color:#9a5b00;font-weight:600}table{border-collapse:collapse;margin:.6rem 0}
td,th{border:1px solid #e3e7ec;padding:.25rem .5rem;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f6f9}td.l,th.l{text-align:left}.heat td{min-width:3.5rem}
svg text{font:12px system-ui,sans-serif;fill:#1d2733}
"""


def _fmt(v: Any, digits: int = 1, lang: str = "en", sign: bool = False) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        s = f"{v:,}"
    elif isinstance(v, float):
        s = f"{v:+,.{digits}f}" if sign else f"{v:,.{digits}f}"
    else:
        return escape(str(v))
    return s.replace(",", "\u202f").replace(".", ",") if lang == "fr" else s


def _bars(items: list[tuple[str, float | None, str]], lang: str, width: int = 520, unit: str = " %",
          scale: float = 100.0) -> str:
    """Horizontal bar chart (label, value, note) as inline SVG."""
    items = [(lab, v, note) for lab, v, note in items if v is not None]
    if not items:
        return ""
    h, left = 22, 130
    top = max(scale, max(v for _, v, _ in items)) or 1.0
    out = [f'<svg role="img" width="{width}" height="{h * len(items) + 6}" viewBox="0 0 {width} {h * len(items) + 6}">']
    for i, (lab, v, note) in enumerate(items):
        w = max(1.0, (width - left - 150) * v / top)
        y = i * h + 3
        out.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(lab)}</text>'
                   f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{h - 6}" fill="#2f6db5"><title>{escape(lab)}: '
                   f'{_fmt(v, 1, lang)}{unit} {escape(note)}</title></rect>'
                   f'<text x="{left + w + 6:.1f}" y="{y + 14}">{_fmt(v, 1, lang)}{unit} {escape(note)}</text>')
    out.append("</svg>")
    return "".join(out)


def _nps_bar(n: dict[str, Any]) -> str:
    total = n["n"] or 1
    parts = [("detractors", n["detractors"], "#c0392b"), ("passives", n["passives"], "#b8c0cc"),
             ("promoters", n["promoters"], "#1e8449")]
    x, out = 0.0, ['<svg role="img" width="300" height="18" viewBox="0 0 300 18">']
    for name, k, colour in parts:
        w = 300 * k / total
        out.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="18" fill="{colour}"><title>{name} {k}</title></rect>')
        x += w
    return "".join(out) + "</svg>"


def _table(head: list[str], body: list[list[Any]], lang: str, cls: str = "") -> str:
    h = "".join(f'<th class="{"l" if i == 0 else ""}">{escape(x)}</th>' for i, x in enumerate(head))
    rows = "".join("<tr>" + "".join(f'<td class="{"l" if i == 0 or isinstance(v, str) else ""}">{_fmt(v, 1, lang)}</td>'
                                    for i, v in enumerate(r)) + "</tr>" for r in body)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{rows}</tbody></table>'


def _generic(d: Any, lang: str) -> str:
    """Any other section (service, loyalty, value…) as nested tables."""
    if isinstance(d, dict):
        if all(not isinstance(v, dict | list) for v in d.values()):
            return _table(["", ""], [[k, v] for k, v in d.items()], lang)
        return "".join(f"<h4>{escape(str(k))}</h4>{_generic(v, lang)}" for k, v in d.items())
    if isinstance(d, list) and d and all(isinstance(r, dict) for r in d):
        keys = list(dict.fromkeys(k for r in d for k in r))
        return _table(keys, [[r.get(k) for k in keys] for r in d[:50]], lang)
    return f"<p>{_fmt(d, 2, lang)}</p>"


def _service(sv: dict[str, Any], t: dict[str, str], name: Any, lang: str) -> str:
    fr, rs, ro, fcr, bot, sla = (sv.get(k) or {} for k in ("first_response", "resolution", "reopen", "fcr",
                                                          "bot_containment", "sla"))
    rows = [[t["first_response"], fr.get("median_h"), fr.get("p90_h"), fr.get("n")],
            [t["resolution_time"], rs.get("median_h"), rs.get("p90_h"), rs.get("n")]]
    out = [f"<h2>{t['service']}</h2>", _table(["", t["median_h"], t["p90_h"], "n"], rows, lang),
           _bars([(t["fcr"], fcr.get("fcr"), f"(n = {_fmt(fcr.get('n'), 0, lang)})"),
                  (t["fcr_same"], fcr.get("fcr_same_channel"), ""),
                  (t["reopen"], ro.get("reopen_rate"), f"(n = {_fmt(ro.get('n'), 0, lang)})"),
                  (t["bot"], bot.get("containment"), f"(n = {_fmt(bot.get('n'), 0, lang)})"),
                  (t["sla_response"], sla.get("response"), f"(n = {_fmt(sla.get('response_n'), 0, lang)})"),
                  (t["sla_resolution"], sla.get("resolution"), f"(n = {_fmt(sla.get('resolution_n'), 0, lang)})")], lang)]
    by_channel = sv.get("fcr_by_channel") or []
    if by_channel:
        out.append(f"<h3>{t['fcr_by_channel']}</h3>" + _bars(
            [(name(r["channel"]), r.get("fcr"), f"(n = {_fmt(r.get('n'), 0, lang)})") for r in by_channel], lang))
    return "".join(out)


def _loyalty(lo: dict[str, Any], t: dict[str, str], lang: str) -> str:
    out = [f"<h2>{t['loyalty']}</h2>"]
    ret = [r for r in lo.get("retention", []) if r.get("n")]
    if ret:
        out.append(f"<h3>{t['retention']}</h3>" + _bars(
            [(str(r["period"])[:10], r.get("retention"), f"(n = {_fmt(r['n'], 0, lang)})"
              + ("" if r.get("complete") else " *")) for r in ret], lang))
    cohorts = lo.get("cohorts", [])
    if cohorts:
        ages = sorted({c["age"] for c in cohorts})
        by = {}
        for c in cohorts:
            by.setdefault(str(c["cohort"])[:10], {})[c["age"]] = c
        body = []
        for cohort, cells in sorted(by.items()):
            row = [f"<th class='l'>{escape(cohort)}</th><td>{_fmt(next(iter(cells.values()))['n'], 0, lang)}</td>"]
            for a in ages:
                v = cells.get(a, {}).get("retention")
                style = f" style='background:rgba(30,132,73,{(v or 0) / 100:.2f})'" if v is not None else ""
                row.append(f"<td{style}>{_fmt(v, 1, lang) if v is not None else ''}</td>")
            body.append("<tr>" + "".join(row) + "</tr>")
        out.append(f"<h3>{t['cohorts']}</h3><table class='heat'><thead><tr><th></th><th>n</th>"
                   + "".join(f"<th>+{a}</th>" for a in ages) + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>")
    lvs = lo.get("loyalty_vs_satisfaction", [])
    if lvs:
        out.append(f"<h3>{t['loyalty_vs_satisfaction']}</h3>" + _table(
            ["NPS", t["buyer"], "n", t["share"] + " %", t["reading"]],
            [[r["nps_category"], r["buyer"], r["n"], r["row_share"], r["reading"]] for r in lvs], lang))
    for target, label in (("nps", "NPS"), ("csat", "CSAT"), ("churn", "churn")):
        d = (lo.get("drivers") or {}).get(target) or []
        if isinstance(d, dict):  # not estimable: the reason
            out.append(f"<h3>{t['drivers']} {label}</h3><p class='muted'>{escape(d.get('note', ''))}</p>")
        elif d:
            out.append(f"<h3>{t['drivers']} {label}</h3>" + _bars(
                [(r["term"], r.get("share"), ("" if r.get("significant") else f"({t['not_significant']})"))
                 for r in d if r.get("share") is not None], lang))
    segs = (lo.get("segments") or {})
    for key in ("rfm", "behaviour"):
        if segs.get(key):
            out.append(f"<h3>{t['segments']} {key.upper() if key == 'rfm' else t['behaviour']}</h3>" + _bars(
                [(r["segment"], r.get("share"), f"(n = {_fmt(r.get('n'), 0, lang)})") for r in segs[key]], lang))
    return "".join(out)


def render_html(rep: dict[str, Any], lang: str = "en") -> str:
    t, ch = T[lang], CHANNEL_NAMES[lang]
    name = lambda c: ch.get(c, c)  # noqa: E731
    p = rep["period"]
    parts = [f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{t['title']}</title>"
             f"<style>{CSS}</style></head><body><h1>{t['title']}</h1>",
             f"<p class='muted'>{t['period']}: {escape(str(p['from'] or p['first_event'] or '—'))[:10]} → "
             f"{escape(str(p['to'] or p['last_event'] or '—'))[:10]} · {t['data']}: "
             + ", ".join(f"{k} {_fmt(v, 0, lang)}" for k, v in rep["counts"].items()) + "</p>",
             f"<h2>{t['voice']}</h2><section class='kpis'>"]
    n, c, e = rep["nps"], rep["csat"], rep["ces"]
    few = f"<p class='warn'>{t['few']}</p>"
    if n["n"]:
        change = n.get("change") or {}
        delta = (f"<p class='muted'>{t['change']}: Δ {_fmt(change['delta'], 1, lang, True)} ± {_fmt(change['moe95'], 1, lang)}, "
                 f"p = {_fmt(change['p_value'], 3, lang)} ({t['significant'] if change['significant'] else t['not_significant']})</p>"
                 if change.get("delta") is not None else "")
        parts.append(f"<article class='kpi'><h3>{t['nps']}</h3><p class='big'>{_fmt(n['score'], 1, lang, True)} "
                     f"<small>± {_fmt(n['moe95'], 1, lang)}</small></p>{_nps_bar(n)}<p class='muted'>n = {_fmt(n['n'], 0, lang)} "
                     f"{t['answers']}, {_fmt(n['skipped'], 0, lang)} {t['skipped']}</p>{delta}{few if n['small_n'] else ''}</article>")
    for key, field, label in (("csat", "score", t["csat"]), ("ces", "share_easy", t["ces"])):
        s = rep[key]
        if s["n"]:
            parts.append(f"<article class='kpi'><h3>{label}</h3><p class='big'>{_fmt(s[field], 1, lang)} %</p>"
                         f"<p class='muted'>{t['interval']} {_fmt(s['ci95'][0], 1, lang)}–{_fmt(s['ci95'][1], 1, lang)} % · "
                         f"n = {_fmt(s['n'], 0, lang)} {t['answers']}, {_fmt(s['skipped'], 0, lang)} {t['skipped']}</p>"
                         f"{few if s['small_n'] else ''}</article>")
    if not (n["n"] or c["n"] or e["n"]):
        parts.append(f"<p>{t['none']}</p>")
    parts.append("</section>")
    j = rep["journeys"]
    parts.append(f"<h2>{t['journeys']}</h2>")
    if j["episodes"]:
        parts.append(f"<p>{_fmt(j['episodes'], 0, lang)} {t['episodes']} · {t['avoidable']} {_fmt(j['avoidable']['share'], 1, lang)} % · "
                     f"{t['continue']} {_fmt(j['continue_after_call']['share'], 1, lang)} % · {t['give_up']} "
                     f"{_fmt(j['give_up']['share'], 1, lang)} %</p>")
        parts.append(f"<h3>{t['preceded']}</h3>" + _bars(
            [(name(k), v, f"(n = {_fmt(j['preceded_by_other_channel_n'].get(k, 0), 0, lang)})")
             for k, v in j["preceded_by_other_channel"].items()], lang))
        chans = j["channels"]
        cells = []
        for a in chans:
            row = [f"<th class='l'>{escape(name(a))}</th>"]
            for b in chans:
                v = j["switch_share"].get(a, {}).get(b)
                style = f" style='background:rgba(47,109,181,{(v or 0) / 100:.2f})'" if v is not None else ""
                row.append(f"<td{style} title='{j['switch_matrix'].get(a, {}).get(b, 0)}'>{_fmt(v, 1, lang) if v is not None else '·'}</td>")
            cells.append("<tr>" + "".join(row) + "</tr>")
        parts.append(f"<h3>{t['switching']}</h3><p class='muted'>{t['switch_help']}</p><table class='heat'><thead><tr><th></th>"
                     + "".join(f"<th>{escape(name(b))}</th>" for b in chans) + "</tr></thead><tbody>" + "".join(cells)
                     + "</tbody></table>")
        parts.append(f"<h3>{t['funnel']}</h3>" + _bars(
            [(f["stage"], f["conversion"], f"({t['reached']} {_fmt(f['reached'], 0, lang)})") for f in j["funnel"]], lang))
        parts.append(f"<h3>{t['paths']}</h3>" + _table([t["path"], "n", t["share"] + " %"],
                                                        [[r["path"], r["n"], r["share"]] for r in j["top_paths"]], lang))
        parts.append(f"<h3>{t['peak_end']}</h3>" + _table([t["predictor"], "r", "r²", "n"],
                                                          [[r["predictor"], r["r"], r["r2"], r["n"]] for r in j["peak_end"]], lang))
    else:
        parts.append(f"<p>{t['none']}</p>")
    for b in rep.get("breakdowns", []):
        body = [[k, r.get("nps", {}).get("score"), r.get("nps", {}).get("n"), r.get("csat", {}).get("score"),
                 r.get("csat", {}).get("n"), r.get("avoidable", {}).get("share"), r.get("avoidable", {}).get("n")]
                for k, r in sorted(b["rows"].items())]
        parts.append(f"<h2>{t['by']} {escape(b['dimension'])}</h2>" + _table(
            [b["dimension"], "NPS", "n", "CSAT %", "n", t["avoidable"] + " %", "n"], body, lang))
    if rep.get("service"):
        parts.append(_service(rep["service"], t, name, lang))
    if rep.get("loyalty"):
        parts.append(_loyalty(rep["loyalty"], t, lang))
    if rep.get("value"):
        parts.append(f"<h2>{t['value']}</h2>" + _generic(rep["value"], lang))
    known = {"period", "counts", "small_n_threshold", "nps", "csat", "ces", "journeys", "breakdowns", "source",
             "service", "loyalty", "value"}
    for key in [k for k in rep if k not in known]:
        parts.append(f"<h2>{escape(key)}</h2>" + _generic(rep[key], lang))
    parts.append("</body></html>")
    return "".join(parts)
