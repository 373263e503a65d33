"""What if…: ask the journey model how a change (a channel resolving more, fewer give-ups, episodes
starting elsewhere) would move contacts, calls, give-up and NPS (``/act/whatif``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from parcours.auth import Principal
from parcours.simulate.whatif import WhatIf, WhatIfError, cached_model, scenario
from parcours.store import Store
from parcours.web.deps import db, page_user
from parcours.web.i18n import CHANNEL_NAMES, STRINGS
from parcours.web.i18n_whatif import WHATIF_STRINGS
from parcours.web.render import language, num, render
from parcours.web.views import charts

router = APIRouter()
DEFAULT = {"channel": "chat", "resolve": 10.0, "scope": "every", "give_up": 0.0, "shift_to": "", "shift": 0.0}


def texts(lang: str) -> dict[str, str]:
    """The page's strings: the app's, with this page's (until they are merged into ``STRINGS``)."""
    return {**STRINGS[lang], **WHATIF_STRINGS[lang]}


def rows(answer: WhatIf, t: dict[str, str], names: dict[str, str]) -> list[dict[str, Any]]:
    """The answer's table: contacts per 1,000 episodes by channel then all together, contacts in the
    period (calls, all), give-up, first-contact settlement, NPS; each with its intervals."""
    per_1000, period, others = [], [], []
    for f in answer.figures:
        name = names.get(f.channel, f.channel) if f.channel else t["whatif_all_channels"]
        if f.key == "contacts":
            per_1000.append({"group": t["whatif_contacts_per_1000"], "label": name, "f": f, "digits": 1, "unit": ""})
        elif f.key == "contacts_total" and f.channel in ("phone", None):
            period.append({"group": t["whatif_contacts_period"], "label": name, "f": f, "digits": 0, "unit": ""})
        elif f.key in ("give_up", "one_done", "nps"):
            others.append({"group": t["whatif_episodes_nps"], "label": t[f"whatif_fig_{f.key}"], "f": f, "digits": 1,
                           "unit": "" if f.key == "nps" else " %"})
    return per_1000 + period + others


def calls_card(answer: WhatIf) -> dict[str, Any] | None:
    """Calls that disappear (or are added) in the period, as a positive number with its interval."""
    f = next((f for f in answer.figures if f.key == "contacts_total" and f.channel == "phone"), None)
    if f is None:
        return None
    sign = -1 if f.change <= 0 else 1
    low, high = sorted((sign * f.change_ci[0], sign * f.change_ci[1]))
    return {"fewer": f.change <= 0, "n": sign * f.change, "low": low, "high": high}


def describe(answer: WhatIf, t: dict[str, str], names: dict[str, str], lang: str) -> str:
    """The scenario in the reader's words."""
    sc = answer.scenario
    scope = t[f"whatif_scope_{sc.scope}"]
    parts = [t["whatif_desc_resolve"].format(channel=names.get(c, c), points=num(100 * d, 1, lang, True), scope=scope)
             for c, d in sc.resolve.items()]
    parts += [t["whatif_desc_give_up"].format(channel=names.get(c, c), points=num(100 * d, 1, lang, True))
              for c, d in sc.give_up.items()]
    if sc.shift:
        src, dst, share = sc.shift
        parts.append(t["whatif_desc_shift"].format(share=num(100 * share, 1, lang), src=names.get(src, src),
                                                   dst=names.get(dst, dst)))
    return " · ".join(parts) or t["whatif_desc_none"]


def chart(answer: WhatIf, t: dict[str, str], names: dict[str, str]) -> dict[str, Any]:
    values = [{"channel": names.get(f.channel, f.channel), "change": f.change, "low": f.change_ci[0],
               "high": f.change_ci[1]} for f in answer.figures if f.key == "contacts" and f.channel]
    return charts.bars_ci(t["whatif_chart"], values, cat="channel", cat_title=t["whatif_channel"], value="change",
                          value_title=t["whatif_chart_axis"], low="low", high="high", sort=None)


@router.get("/act/whatif")
def whatif_page(request: Request, channel: str = Query(DEFAULT["channel"]),
                resolve: float = Query(DEFAULT["resolve"]), scope: str = Query(DEFAULT["scope"]),
                give_up: float = Query(DEFAULT["give_up"]), shift_to: str = Query(DEFAULT["shift_to"]),
                shift: float = Query(DEFAULT["shift"]), store: Store = Depends(db),
                who: Principal = Depends(page_user("act"))) -> Any:
    lang = language(request)
    t, names = texts(lang), CHANNEL_NAMES[lang]
    form = {"channel": channel, "resolve": resolve, "scope": scope, "give_up": give_up, "shift_to": shift_to,
            "shift": shift}
    try:
        model = cached_model(store)
    except WhatIfError as exc:
        return render(request, "whatif.html", status_code=422, t=t, form=form, channels=[], error=str(exc),
                      answer=None)
    if "channel" not in request.query_params and channel not in model.channels:
        channel = form["channel"] = model.channels[0]      # the default question, on a store without chat
    try:
        answer = model.ask(scenario(channel, resolve_points=resolve, give_up_points=give_up, scope=scope,
                                    shift_to=shift_to or None, shift_points=shift))
    except WhatIfError as exc:
        return render(request, "whatif.html", status_code=422, t=t, form=form, channels=model.channels,
                      error=str(exc), answer=None)
    return render(request, "whatif.html", t=t, form=form, channels=model.channels, error=None, answer=answer,
                  rows=rows(answer, t, names), calls=calls_card(answer), rates=model.rates(),
                  spec=chart(answer, t, names),
                  question=describe(answer, t, names, lang),
                  based_on=t["whatif_based_on"].format(episodes=num(answer.episodes, 0, lang),
                                                       answers=num(answer.answers, 0, lang), draws=answer.draws))
