"""The CLI of acting before the problem: rules, outreach (docs/rules.md). Registered on the main
group by :mod:`parcours.cli`; the logic lives in :mod:`parcours.act`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import click

from parcours.cli_common import _json, _store, console, out
from parcours.simulate.whatif_cli import whatif


def _day(d: datetime) -> datetime:
    return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d


@click.group()
def rules() -> None:
    """Managers' rules: when something happens or lasts too long, act (docs/rules.md).
    Stop `parcours serve` first to change them here (it is the store's writer), or use the web app."""


@rules.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rules_list(ctx: click.Context, as_json: bool) -> None:
    """Every rule, on or off, with how often it fired and its last error."""
    from parcours.act import rules as defs

    store = _store(ctx, read_only=True)
    fired = dict(store.query("SELECT rule_id, count(*) FROM rule_firings GROUP BY rule_id"))
    found = defs.listed(store)
    if as_json:
        _json([{**r.as_dict(), "fired": fired.get(r.rule_id, 0)} for r in found])
        return
    if not found:
        console.print("No rule yet: `parcours rules load rules.toml`, or write one at /act in the web app.")
    for r in found:
        console.print(f"{'on ' if r.enabled else 'off'}  {r.rule_id:<24} {r.subject:<10} {r.action:<12} "
                      f"fired {fired.get(r.rule_id, 0):>7,}  when {r.condition}")
        if r.last_error:
            console.print(f"     [red]last error:[/red] {r.last_error}")


@rules.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def rules_load(ctx: click.Context, path: Path) -> None:
    """Save the [[rule]] tables of a TOML file (all or nothing; a rule without enabled = true is saved off)."""
    from parcours.act import rules as defs

    try:
        saved = defs.load_file(_store(ctx), path)
    except defs.RuleError as e:
        raise click.ClickException(str(e)) from e
    for r in saved:
        console.print(f"{r.rule_id}: saved (v{r.version}, {'on' if r.enabled else 'off'})")


@rules.command("test")
@click.argument("rule_id")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Day after the last.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rules_test(ctx: click.Context, rule_id: str, start: datetime, end: datetime, as_json: bool) -> None:
    """Back-test a saved rule: how often it would have fired over a past period."""
    from parcours.act import engine
    from parcours.act import rules as defs

    store = _store(ctx, read_only=True)
    rule = defs.get(store, rule_id)
    if rule is None:
        raise click.ClickException(f"no rule {rule_id!r} (see parcours rules list)")
    try:
        test = engine.backtest(store, rule, _day(start), _day(end))
    except defs.RuleError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        _json(asdict(test))
        return
    console.print(f"{rule.name}: would have fired {test.fired:,} times ({test.persons:,} persons) "
                  f"from {start:%Y-%m-%d} to {end:%Y-%m-%d} ({test.seconds:.2f} s)")
    for e in test.examples[:5]:
        console.print(f"  {e['at']:%Y-%m-%d %H:%M}  {e['subject']}  {e['reason']}")


@rules.command("switch")
@click.argument("rule_id")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.pass_context
def rules_switch(ctx: click.Context, rule_id: str, state: str) -> None:
    """Switch a rule on (it judges what is stored from now on) or off."""
    from parcours.act import rules as defs

    try:
        r = defs.set_enabled(_store(ctx), rule_id, state == "on")
    except defs.RuleError as e:
        raise click.ClickException(str(e)) from e
    console.print(f"{r.rule_id}: {'on' if r.enabled else 'off'}")


@rules.command("firings")
@click.option("--rule", "rule_id", default=None, help="Only this rule's.")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rules_firings(ctx: click.Context, rule_id: str | None, limit: int, as_json: bool) -> None:
    """The latest firings with their reason and what came of them."""
    from parcours.act import engine

    found = engine.firings(_store(ctx, read_only=True), rule_id=rule_id, limit=limit)
    if as_json:
        _json(found)
        return
    for f in found:
        console.print(f"{f['fired_at']:%Y-%m-%d %H:%M:%S} {f['rule_id']:<20} {f['status']:<8} {f['subject_key']:<14} "
                      f"{f['reason']} → {f['result'] or f['error'] or ''}")


@click.group()
def outreach() -> None:
    """Proactive contacts under a contact-pressure budget, rated by customers (docs/rules.md)."""


@outreach.command("practices")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def outreach_practices(ctx: click.Context, as_json: bool) -> None:
    """The practices with how customers rate them, and what was sent or held back."""
    from parcours.act import outreach as o

    store = _store(ctx, read_only=True)
    rows = o.summary(store)
    if as_json:
        _json({"budget": asdict(o.budget(store)), "practices": rows})
        return
    b = o.budget(store)
    console.print(f"Budget: {b.per_person} proactive contacts per person in {b.period_days} days; the last "
                  f"{b.reserve} kept for practices rated {b.welcome:g}+")
    for p in rows:
        console.print(f"  {p['rating']:.1f}/5  {p['practice_id']:<28} {p['channel']:<7} sent {p['sent']:>6,}  "
                      f"held {p['held']:>6,}  queued {p['queued']:>4,}")


@outreach.command("budget")
@click.option("--per-person", type=click.IntRange(1, 100), required=True, help="Proactive contacts a person may get…")
@click.option("--days", type=click.IntRange(1, 366), required=True, help="… in this many days.")
@click.option("--reserve", type=click.IntRange(0, 99), default=1, show_default=True,
              help="The last contacts of the budget, kept for welcome practices.")
@click.option("--welcome", type=click.FloatRange(1, 5), default=3.0, show_default=True,
              help="The rating from which a practice is welcome.")
@click.pass_context
def outreach_budget(ctx: click.Context, per_person: int, days: int, reserve: int, welcome: float) -> None:
    """Set the contact-pressure budget."""
    from parcours.act import outreach as o

    try:
        o.set_budget(_store(ctx), o.Budget(per_person, days, reserve, welcome))
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    console.print(f"Budget: {per_person} per person in {days} days (reserve {reserve}, welcome from {welcome:g}).")


@outreach.command("effect")
@click.option("--days", default=30, show_default=True, help="Answers within this many days after the decision.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def outreach_effect(ctx: click.Context, days: int, as_json: bool) -> None:
    """NPS of persons reached vs held back by the budget, per practice, with 95 % intervals."""
    from parcours.act import outreach as o

    rows = o.effect(_store(ctx, read_only=True), days=days)
    if as_json:
        _json(rows)
        return
    for e in rows:
        if not (e["sent_persons"] or e["held_persons"]):
            continue
        diff = ("—" if e["difference"] is None else
                f"{e['difference']:+.0f} [{e['difference_ci95'][0]:.0f}; {e['difference_ci95'][1]:.0f}]")
        console.print(f"{e['practice']:<28} reached {e['sent_persons']:>6,} (n {e['sent_n']:>4})  held "
                      f"{e['held_persons']:>6,} (n {e['held_n']:>4})  NPS difference {diff}")



@click.group()
def churn() -> None:
    """Churn risk per customer: train on the history, score, list who is at risk and why (docs/churn.md)."""


@churn.command("train")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Cut-off date (default: 90 days before the data end, the latest whose outcome is known).")
@click.option("--horizon", "horizon_days", default=90, show_default=True, help="Days after the cut-off.")
@click.option("--no-score", is_flag=True, help="Train only; do not score the customers.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def churn_train(ctx: click.Context, as_of: datetime | None, horizon_days: int, no_score: bool, as_json: bool) -> None:
    """Train a model (evaluated on held-out customers), then score every customer."""
    from parcours.act import churn as ch

    store = _store(ctx)
    try:
        trained = ch.train(store, as_of=_day(as_of) if as_of else None, horizon_days=horizon_days)
        scored = None if no_score else ch.score(store)
    except ch.ChurnError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        _json({"trained": trained, "scored": scored})
        return
    m = trained["metrics"]
    console.print(f"{trained['model_id']}: AUC {m['auc']:.3f} [{m['auc_low']:.3f}; {m['auc_high']:.3f}] on "
                  f"{m['holdout_persons']:,} held-out customers, Brier {m['brier']:.3f} (base rate "
                  f"{m['brier_base_rate']:.3f}), {100 * m['base_rate']:.1f} % churned within {horizon_days} days "
                  f"after {trained['as_of']:%Y-%m-%d}")
    if scored:
        console.print(f"{scored['persons']:,} customers scored, mean risk {100 * scored['mean_risk']:.1f} %"
                      + (f" ({scored['clv_note']})" if scored.get("clv_note") else ""))


@churn.command("top")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.6, show_default=True)
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def churn_top(ctx: click.Context, threshold: float, limit: int, as_json: bool) -> None:
    """Customers at risk, most valuable first, with their reasons; and the value at risk."""
    from parcours.act import churn as ch

    store = _store(ctx, read_only=True)
    try:
        people, value = ch.at_risk(store, threshold, limit), ch.clv_at_risk(store, threshold)
    except ch.ChurnError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        _json({"value": value, "at_risk": people})
        return
    tot = value["total"]
    console.print(f"{tot['at_risk']:,} of {tot['persons']:,} customers at {100 * threshold:.0f} %+ risk; expected "
                  f"CLV lost {tot['expected_clv_lost']:,.0f} €, CLV of those at risk {tot['clv_at_risk']:,.0f} €")
    for p in people:
        why = "; ".join(r["label_en"] for r in p["reasons"])
        console.print(f"  {p['person_id']:<14} {100 * p['risk']:5.1f} %  CLV {p['clv'] or 0:8,.0f}  {why}")


@click.command("maturity")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC), included.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (UTC), excluded.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Everything as JSON (criteria, figures, self-assessment, tips).")
@click.pass_context
def maturity_cmd(ctx: click.Context, start: datetime | None, end: datetime | None, lang: str, as_json: bool) -> None:
    """Ovum's maturity level measured on the store, each criterion's evidence, the latest Temkin
    self-assessment and Temkin's tips for the weak points (docs/maturity.md)."""
    from parcours import maturity

    store = _store(ctx, read_only=True)
    m = maturity.summary(store, start.date() if start else None, end.date() if end else None, lang)
    if as_json:
        _json(m)
        return
    level = f"{'Niveau' if lang == 'fr' else 'Level'} {m['level']} {'sur' if lang == 'fr' else 'of'} 4"
    out.print(f"{level} — {m['name'][lang]}. {m['description'][lang]}", markup=False, highlight=False)
    for c in m["criteria"]:
        out.print(f"{'✓' if c['passed'] else '✗'} {c['name'][lang]}: {c['evidence'][lang]}", markup=False,
                  highlight=False)
    if m["temkin"]:
        out.print("Temkin: " + ", ".join(f"{k} {v:.0f}/100" for k, v in m["temkin"]["scores"].items()), markup=False)
    for a in m["advice"]:
        for t in a["tips"]:
            out.print(f"  [{a['id']}] {t['number']}. {t['text']}", markup=False, highlight=False)


COMMANDS = (rules, outreach, churn, maturity_cmd, whatif)
__all__ = ["COMMANDS"]
