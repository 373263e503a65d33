"""Promises kept (``/act/promises``): the share of promises kept on time, by kind and by channel,
with intervals and n, and the open promises past due now (what someone should act on)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request

from parcours.act import promises as act
from parcours.auth import Principal
from parcours.store import Store
from parcours.web.deps import db, page_user
from parcours.web.i18n import CHANNEL_NAMES, STRINGS
from parcours.web.i18n_promises import PROMISES_STRINGS
from parcours.web.render import language, render
from parcours.web.views import charts
from parcours.web.views.filters import PageFilters, page_filters, page_report

router = APIRouter()
OVERDUE_SHOWN = 100


def labelled(rows: list[dict[str, Any]], key: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Rows with a figure (something due), each with the ``label`` of its kind or channel."""
    return [dict(r, label=names.get(r[key], r[key])) for r in rows if r.get("kept_share") is not None]


def kind_names(t: dict[str, str]) -> dict[str, str]:
    return {k[len("promises_kind_"):]: v for k, v in t.items() if k.startswith("promises_kind_")}


@router.get("/act/promises")
def promises_page(request: Request, f: PageFilters = Depends(page_filters), store: Store = Depends(db),
                  who: Principal = Depends(page_user("metrics"))) -> Any:
    rep = page_report(request, f)
    lang = language(request)
    t = STRINGS[lang] | PROMISES_STRINGS[lang]   # works before and after the merge into STRINGS
    sec = rep.get("promises") or {}
    kinds = labelled(sec.get("by_kind", []), "kind", kind_names(t))
    chans = labelled(sec.get("by_channel", []), "channel", CHANNEL_NAMES[lang])
    bars = {"kind": charts.bars_ci(t["promises_by_kind"], kinds, cat="label", cat_title=t["promises_kind"],
                                   value="kept_share", value_title=t["promises_share"], low="kept_share_low",
                                   high="kept_share_high", sort="descending", domain=[0, 100]),
            "channel": charts.bars_ci(t["promises_by_channel"], chans, cat="label", cat_title=t["channel"],
                                      value="kept_share", value_title=t["promises_share"], low="kept_share_low",
                                      high="kept_share_high", sort="descending", domain=[0, 100])}
    now = datetime.now(timezone.utc)
    open_late = act.overdue(store, now, channel=f.channel, limit=OVERDUE_SHOWN)
    return render(request, "promises.html", t=t, rep=rep, filters=f, sec=sec, overall=sec.get("overall") or {},
                  kinds=kinds, chans=chans, bars=bars, open_late=open_late, kind_label=kind_names(t),
                  shown=OVERDUE_SHOWN, now=now.isoformat(timespec="seconds"))
