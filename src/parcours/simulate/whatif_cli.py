"""``parcours whatif``: the journey model's answer in the terminal (registered on the main group by
:mod:`parcours.cli`; the model is :mod:`parcours.simulate.whatif`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.table import Table as RichTable

from parcours.cli_common import _json, _store, out

if TYPE_CHECKING:
    from .whatif import WhatIf

_LABELS = {"contacts": "contacts per 1,000 episodes", "contacts_total": "contacts in the period",
           "give_up": "episodes given up (%)", "one_done": "settled at the first contact (%)", "nps": "NPS"}


def table(answer: WhatIf) -> RichTable:
    """Baseline, scenario and change with their 95 % intervals, one row per figure."""
    t = RichTable(title=f"What if: {answer.scenario.describe()} — {answer.episodes:,} episodes, "
                        f"{answer.answers:,} NPS answers, {answer.draws} draws", title_justify="left")
    for col in ("figure", "channel", "in the data", "model today", "scenario", "change", "95 % interval",
                "in a period like this"):
        t.add_column(col, justify="left" if col in ("figure", "channel") else "right")
    for f in answer.figures:
        d = 0 if f.key == "contacts_total" else 1
        t.add_row(_LABELS[f.key], f.channel or "all", "—" if f.observed is None else f"{f.observed:,.{d}f}",
                  f"{f.baseline:,.{d}f}", f"{f.scenario:,.{d}f}", f"{f.change:+,.{d}f}",
                  f"{f.change_ci[0]:+,.{d}f} … {f.change_ci[1]:+,.{d}f}",
                  f"{f.change_period_ci[0]:+,.{d}f} … {f.change_period_ci[1]:+,.{d}f}")
    return t


@click.command("whatif")
@click.option("--channel", help="The channel changed (phone, chat, email…).")
@click.option("--resolve", type=float, default=0.0, help="Resolution on a contact of the channel, in points (+10).")
@click.option("--scope", type=click.Choice(["every", "first"]), default="every", show_default=True,
              help="--resolve on every contact of the channel, or only on an episode's first contact.")
@click.option("--give-up", type=float, default=0.0, help="Giving up after an unresolved contact, in points.")
@click.option("--shift-to", help="Move episodes that start on --channel to start on this channel…")
@click.option("--shift", type=float, default=0.0, help="…this share of them, in % (10).")
@click.option("--draws", type=click.IntRange(0, 10_000), default=None,
              help="Bootstrap draws for the intervals (default: the model's, docs/whatif.md).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def whatif(ctx: click.Context, channel: str | None, resolve: float, scope: str, give_up: float,
           shift_to: str | None, shift: float, draws: int | None, seed: int, as_json: bool) -> None:
    """What if a channel resolved more, fewer customers gave up, or episodes started elsewhere:
    contacts per channel, calls, give-up and NPS from a journey model fit on the store, with 95 %
    intervals (docs/whatif.md). Example: parcours whatif --channel chat --resolve 10"""
    # imported here: the model brings NumPy, SciPy and Ibis, which every other command would pay for
    from .whatif import DRAWS, WhatIfError, fit, scenario

    store = _store(ctx, read_only=True)
    try:
        sc = scenario(channel, resolve_points=resolve, give_up_points=give_up, scope=scope, shift_to=shift_to,
                      shift_points=shift)
        answer = fit(store, draws=DRAWS if draws is None else draws, seed=seed).ask(sc)
    except WhatIfError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        _json(answer.as_dict())
        return
    out.print(table(answer))
    for note in answer.notes:
        out.print(f"[yellow]{note}[/]")
