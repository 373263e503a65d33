"""The ``parcours`` command: thin wrappers over the domain modules.

Exit status of ``parcours import``: 0 when every row was stored (or was already
there), 1 when some rows went to quarantine, 2 when a file could not be imported at all.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from parcours.cli_act import COMMANDS as ACT_COMMANDS
from parcours.cli_common import _json, _store, console, out
from parcours.schema import CHANNELS, STAGES
from parcours.store import Store, StoreError, default_db_path

EXIT_QUARANTINE, EXIT_FAILED = 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Store file (DuckDB). Default: $PARCOURS_DB, else ./parcours.duckdb.")
@click.option("--memory-limit", "memory", default=lambda: os.environ.get("PARCOURS_MEMORY_LIMIT", "2GB"),
              metavar="SIZE", show_default="2GB, or $PARCOURS_MEMORY_LIMIT",
              help="Memory the store may use; beyond it DuckDB spills to disk.")
@click.version_option(package_name="parcours")
@click.pass_context
def main(ctx: click.Context, db: Path | None, memory: str | None) -> None:
    """Parcours: serve customers, listen to them, understand their whole journey.

    \b
    Start with:  parcours demo          (builds a demo world and serves it)
    Your data:   parcours import touchpoints.csv orders.parquet responses.jsonl
                 parcours report
                 parcours serve
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db or default_db_path()
    ctx.obj["db_chosen"] = db is not None or "PARCOURS_DB" in os.environ  # the demo never overwrites it
    ctx.obj["memory"] = memory


# -- import -------------------------------------------------------------------------------
@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--table", "-t", default=None, help="Target table (default: from each file name, "
              "e.g. touchpoints_2025.csv → touchpoints).")
@click.option("--map", "mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML column mapping for a foreign export (see docs/import.md).")
@click.option("--tz", default=lambda: os.environ.get("PARCOURS_TZ", "Europe/Paris"),
              show_default="Europe/Paris, or $PARCOURS_TZ", help="Time zone given to timestamps written without one.")
@click.option("--country", default=lambda: os.environ.get("PARCOURS_COUNTRY", "FR"),
              show_default="FR, or $PARCOURS_COUNTRY",
              help="Country of phone numbers written in national form (06 12 34 56 78).")
@click.option("--encoding", default=None, help="Text encoding (default: UTF-8, else Latin-1/Windows-1252).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def import_cmd(ctx: click.Context, files: tuple[Path, ...], table: str | None, mapping: Path | None,
               tz: str, country: str, encoding: str | None, as_json: bool) -> None:
    """Import CSV, Parquet or JSON-lines files into the store.

    Each row is validated (required fields, types, time zones, channels and other
    enums, score ranges, identifiers). Good rows are stored, bad rows go to the
    quarantine with their row number, field and reason (`parcours quarantine`).
    Importing the same file again adds nothing. Exit status: 0 all stored, 1 some
    rows quarantined, 2 a file could not be imported.
    """
    from parcours.ingest.importer import import_files
    from parcours.ingest.mapping import MappingError, load_mapping
    from parcours.ingest.validate import Options
    from parcours.schema import TABLES

    if table and table not in TABLES:
        raise click.BadParameter(f"{table!r} is not one of {', '.join(TABLES)}", param_hint="--table")
    try:
        m = load_mapping(mapping) if mapping else None
    except MappingError as e:
        raise click.ClickException(str(e)) from e
    store = _store(ctx)
    opts = Options(timezone=tz, country=country)
    with _progress(disable=as_json) as bar:
        reports = import_files(store, files, table=table, mapping=m, options=opts, encoding=encoding,
                               progress=_import_progress(bar))
    store.close()
    if as_json:
        _json([r.as_dict() for r in reports])
    else:
        _print_import(reports)
    if any(r.error for r in reports):
        ctx.exit(EXIT_FAILED)
    if any(r.quarantined for r in reports):
        ctx.exit(EXIT_QUARANTINE)


def _progress(disable: bool = False) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                    TimeElapsedColumn(), console=console, transient=True, disable=disable)


def _import_progress(bar: Progress) -> Callable[[Path, str, float], None]:
    """A task per file, advanced through the import's steps."""
    steps = {"read": (0, 30), "check": (30, 30), "identity": (60, 15), "store": (75, 25)}
    tasks: dict[Path, Any] = {}

    def progress(path: Path, step: str, pct: float) -> None:
        if path not in tasks:
            tasks[path] = bar.add_task(path.name, total=100)
        start, width = steps.get(step, (0, 100))
        bar.update(tasks[path], completed=start + width * pct / 100, description=f"{path.name} · {step}")

    return progress


def _generate_progress(bar: Progress, persons: int) -> Callable[[int], None]:
    task = bar.add_task(f"generating {persons:,} persons", total=persons)
    return lambda n: bar.advance(task, n)


def _print_import(reports: list[Any]) -> None:
    t = RichTable(title="Import", title_justify="left")
    for col in ("file", "table", "read", "accepted", "updated", "duplicates", "quarantined", "seconds"):
        t.add_column(col, justify="left" if col in ("file", "table") else "right")
    for r in reports:
        if r.error:
            t.add_row(Path(r.source).name, r.table or "?", "—", "—", "—", "—", "—", f"{r.seconds:.1f}")
        else:
            t.add_row(Path(r.source).name, r.table, f"{r.rows_read:,}", f"{r.accepted:,}", f"{r.updated:,}",
                      f"{r.duplicates:,}", f"[red]{r.quarantined:,}[/]" if r.quarantined else "0",
                      f"{r.seconds:.1f}")
    out.print(t)
    for r in reports:
        name = Path(r.source).name
        if r.error:
            out.print(f"[red]✗ {r.error}[/]")
            continue
        notes = []
        if r.encoding and r.encoding != "utf-8":
            notes.append(f"read as {r.encoding}")
        if r.naive_timestamps:
            notes.append(f"{r.naive_timestamps:,} timestamps had no time zone: read as {r.timezone}")
        if r.persons_created or r.persons_merged:
            notes.append(f"{r.persons_created:,} new persons, {r.persons_merged:,} merged "
                         f"({r.identities_added:,} new identifiers)")
        if r.ignored_columns:
            notes.append("columns not in the contract, ignored: " + ", ".join(r.ignored_columns))
        for n in notes:
            out.print(f"  {name}: {n}")
        for p in r.problems:
            where = f"row {p['row']}" + (f", {p['field']}" if p["field"] else "")
            out.print(f"  [yellow]{name} {where}: {p['reason']}[/]")
        if r.quarantined > len(r.problems):
            out.print(f"  … {r.quarantined:,} rows in quarantine in all: `parcours quarantine`")


# -- quarantine -----------------------------------------------------------------------------
@main.command()
@click.option("--table", "-t", default=None, help="Only this table.")
@click.option("--all", "include_resolved", is_flag=True, help="Include entries already resolved.")
@click.option("--limit", default=50, show_default=True, help="Entries to list (0: all).")
@click.option("--export", "export_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the open rows (original columns + _errors + _quarantine_id) to a .csv or "
                   ".jsonl file; correct it and import it again.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quarantine(ctx: click.Context, table: str | None, include_resolved: bool, limit: int,
               export_to: Path | None, as_json: bool) -> None:
    """List rows that imports could not accept, or export them for correction."""
    from parcours.ingest import quarantine as q

    store = _store(ctx)
    if export_to:
        try:
            n = q.export(store, export_to, table=table)
        except ValueError as e:
            raise click.ClickException(str(e)) from e
        console.print(f"{n:,} rows written to {export_to}; correct them, then "
                      f"`parcours import {export_to}" + (f" --table {table}`" if table else "`"))
        return
    rows = q.entries(store, table=table, include_resolved=include_resolved, limit=limit or None)
    if as_json:
        _json([r.__dict__ for r in rows])
        return
    if not rows:
        out.print("The quarantine is empty." if not include_resolved else "No entries.")
        return
    for tbl, src, open_rows, resolved in q.summary(store):
        out.print(f"{tbl} ← {src}: {open_rows:,} rows open, {resolved:,} resolved")
    t = RichTable()
    for col in ("where", "field", "reason") + (("resolved",) if include_resolved else ()):
        t.add_column(col, overflow="fold")
    for r in rows:
        t.add_row(f"{Path(r.source).name}:{r.row or '?'}", r.field or "", r.reason,
                  *(("yes" if r.resolved else "",) if include_resolved else ()))
    out.print(t)
    out.print("Entry ids: --json. To correct the rows: --export fix.csv, edit, import fix.csv.")


# -- persons ----------------------------------------------------------------------------------
@main.group()
def persons() -> None:
    """Customer 360: one person, all identifiers, one timeline."""


@persons.command("show")
@click.argument("identifier")
@click.option("--limit", default=200, show_default=True, help="Timeline entries (0: all).")
@click.option("--country", default=lambda: os.environ.get("PARCOURS_COUNTRY", "FR"), show_default="FR")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def persons_show(ctx: click.Context, identifier: str, limit: int, country: str, as_json: bool) -> None:
    """Show the person an IDENTIFIER belongs to (person id, e-mail, phone, handle or app id)."""
    from parcours import persons as p

    store = _store(ctx, read_only=True)
    person = p.show(store, identifier, country=country, limit=limit or None)
    if person is None:
        raise click.ClickException(f"no person has the identifier {identifier!r}")
    if as_json:
        _json(person.__dict__)
        return
    out.print(f"[bold]{person.person_id}[/]  " + "  ".join(f"{k}: {v}" for k, v in person.attributes.items()
                                                       if k != "import_id"))
    for i in person.identities:
        out.print(f"  {i['kind']:<7} {i['value']}  (first seen {str(i['first_seen'])[:16]})")
    for m in person.merges:
        out.print(f"  [dim]merged {m['merged_person_id']} on {str(m['ts'])[:16]}: {m['evidence']}[/]")
    t = RichTable(title=f"Timeline ({len(person.timeline)} entries)", title_justify="left")
    for col in ("when", "what", "channel", "detail", "topic", "outcome", "case", "text"):
        t.add_column(col, overflow="fold")
    for e in person.timeline:
        t.add_row(str(e["ts"])[:16], e["what"], e["channel"] or "", e["detail"] or "", e["topic"] or "",
                  e["outcome"] or "", e["case_id"] or "", (e["text"] or "")[:60])
    out.print(t)


# -- generate / report / serve / demo ---------------------------------------------------------
@main.command()
@click.option("--persons", "n_persons", default=20_000, show_default=True, help="Persons in the world.")
@click.option("--days", default=365, show_default=True, help="Days of history.")
@click.option("--seed", default=42, show_default=True, help="Same seed, same files.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write <table>.parquet (or .csv) into.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True)
def generate(n_persons: int, days: int, seed: int, out_dir: Path, fmt: str) -> None:
    """Write a realistic demo world (persons, journeys, cases, orders, answers)."""
    from parcours.simulate import generate as gen

    with _progress() as bar:
        counts = gen(out_dir, persons=n_persons, days=days, seed=seed, fmt=fmt,  # type: ignore[arg-type]
                     progress=_generate_progress(bar, n_persons))
    console.print(f"Wrote {', '.join(f'{k} {v:,}' for k, v in counts.items())} to {out_dir}")


@main.command()
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day of the period (YYYY-MM-DD, UTC). The NPS change is tested against the "
                   "previous period of the same length when both ends are given.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Day after the period (exclusive).")
@click.option("--by", "by", multiple=True, metavar="DIM",
              help="Break the main figures down by a dimension (repeatable): period, channel, stage, "
                   "topic, agent, segment, life_stage, tenure_year.")
@click.option("--channel", default=None, type=click.Choice(list(CHANNELS)),
              help="Keep only rows of this channel (contacts, answers, orders, cases).")
@click.option("--segment", default=None, help="Keep only persons of this customer segment.")
@click.option("--stage", default=None, type=click.Choice(list(STAGES)), help="Keep only touchpoints of this stage.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (docs/report.md).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a self-contained HTML report with charts to this file.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="duckdb: the embedded store; spark: a Parquet lake (--lake) on Spark.")
@click.option("--lake", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Parquet lake written by `parcours export --parquet DIR` (for --engine spark).")
@click.option("--spark-master", default=None, metavar="URL",
              help="Spark master (default local[*]; e.g. spark://host:7077 or yarn).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default="en", show_default=True,
              help="Language of the HTML report.")
@click.pass_context
def report(ctx: click.Context, start: Any, end: Any, by: tuple[str, ...], channel: str | None, segment: str | None,
           stage: str | None, as_json: bool, html_file: Path | None, engine: str, lake: Path | None,
           spark_master: str | None, lang: str) -> None:
    """Voice (NPS, CSAT, CES with margins), service, journeys, loyalty and value, with n beside every figure."""
    from parcours import report as rep
    from parcours.metrics.dimensions import DIMENSIONS

    bad = [d for d in by if d not in DIMENSIONS]
    if bad:
        raise click.BadParameter(f"unknown dimension {', '.join(bad)}; known: {', '.join(DIMENSIONS)}",
                                 param_hint="--by")
    where = {k: v for k, v in (("channel", channel), ("segment", segment), ("stage", stage)) if v}
    kw = {"start": start.date() if start else None, "end": end.date() if end else None, "by": list(by),
          "where": where}
    try:
        if engine == "duckdb":
            data = rep.build(_store(ctx, read_only=True), **kw)
        else:
            from parcours.engines import tables

            data = rep.build_tables(tables("spark", lake=lake, master=spark_master), **kw)
            data["source"] = {"engine": "spark", "lake": str(lake), "master": spark_master or "local[*]"}
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        raise click.ClickException(str(e)) from e
    if html_file:
        from parcours.html_report import render_html

        html_file.write_text(render_html(data, lang=lang), encoding="utf-8")
        console.print(f"HTML report written to {html_file}")
    if as_json:
        _json(data)
    else:
        click.echo(rep.render_text(data))


@main.command()
@click.option("--parquet", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write one Parquet file per table into (the lake Spark reads).")
@click.pass_context
def export(ctx: click.Context, out_dir: Path) -> None:
    """Export the store as a Parquet lake (for `parcours report --engine spark --lake DIR`)."""
    store = _store(ctx, read_only=True)
    paths = store.export_parquet(out_dir)
    counts = store.counts()
    for name, p in paths.items():
        console.print(f"{name:<12} {counts[name]:>12,} rows → {p}")


@main.group()
def value() -> None:
    """Customer value: BG/NBD, Pareto/NBD and Gamma-Gamma models, CLV."""


@value.command("fit")
@click.option("--orders", "orders", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Orders file (CSV or Parquet with person_id, ts, amount).")
@click.option("--calibration-end", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="Last day of the calibration period (YYYY-MM-DD).")
@click.option("--observation-end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="End of the holdout period: predictions are compared with what happened.")
@click.option("--unit", type=click.Choice(["day", "week"]), default="week", show_default=True)
@click.option("--model", type=click.Choice(["bgnbd", "pareto-nbd", "gamma-gamma"]), default="bgnbd",
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the fit as JSON.")
def value_fit(orders: Path, calibration_end: Any, observation_end: Any, unit: str, model: str,
              as_json: bool) -> None:
    """Fit a customer-base model by maximum likelihood; print its parameters and log-likelihood."""
    from parcours.value.fit import fit_file

    try:
        res = fit_file(orders, calibration_end=calibration_end.date(), unit=unit, model=model,
                       observation_end=observation_end.date() if observation_end else None)
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        _json(res)
        return
    click.echo(f"{res['model']} on {res.get('n', res.get('customers', '?'))} customers, unit {unit}, "
               f"calibration to {calibration_end.date()}")
    for k, v in (res.get("parameters") or {}).items():
        se = (res.get("standard_errors") or {}).get(k)
        click.echo(f"  {k:<8} {v:10.4f}" + (f"  ± {1.96 * se:.4f} (95 %)" if se is not None else ""))
    click.echo(f"  log-likelihood {res.get('log_likelihood'):.2f}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--mail-domain", envvar="PARCOURS_MAIL_DOMAIN", default=None, metavar="DOMAIN",
              help="The desk's mail domain (support@DOMAIN): turns the e-mail channel on. [$PARCOURS_MAIL_DOMAIN]")
@click.option("--smtp-port", envvar="PARCOURS_SMTP_PORT", type=int, default=None,
              help="Receive the desk's mail by SMTP on this port (needs --mail-domain). [$PARCOURS_SMTP_PORT]")
@click.option("--smtp-host", envvar="PARCOURS_SMTP_HOST", default="127.0.0.1", show_default=True,
              help="Address of the SMTP listener. [$PARCOURS_SMTP_HOST]")
@click.option("--smtp-relay", envvar="PARCOURS_SMTP_RELAY", default=None, metavar="HOST:PORT",
              help="Send agents' e-mail replies through this SMTP server; without it they are kept "
                   "unsent (see /health). [$PARCOURS_SMTP_RELAY]")
@click.option("--smtp-relay-tls", envvar="PARCOURS_SMTP_RELAY_TLS", default="none", show_default=True,
              type=click.Choice(["none", "starttls", "tls"]),
              help="TLS to the relay: STARTTLS (587) or TLS from the start (465). Login: "
                   "$PARCOURS_SMTP_RELAY_USER and $PARCOURS_SMTP_RELAY_PASSWORD. [$PARCOURS_SMTP_RELAY_TLS]")
@click.option("--mail-from", envvar="PARCOURS_MAIL_FROM", default=None, metavar="ADDRESS",
              help="From of the replies. Default: Service client <support@DOMAIN>. [$PARCOURS_MAIL_FROM]")
@click.option("--public-url", envvar="PARCOURS_PUBLIC_URL", default=None, metavar="URL",
              help="Where customers reach this server (survey links); default http://HOST:PORT.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, mail_domain: str | None, smtp_port: int | None,
          smtp_host: str, smtp_relay: str | None, smtp_relay_tls: str, mail_from: str | None,
          public_url: str | None) -> None:
    """Serve the web app and the REST API (/api/v1, docs at /api/docs).

    The server is the store's one writer while it runs (DuckDB allows one writing
    process): send data through the API, or stop the server to run `parcours import`.
    Log in with a user from `parcours users add`; API clients use `parcours tokens create`.
    With --mail-domain the desk receives mail (--smtp-port) and sends replies (--smtp-relay);
    the web chat is at /chat (docs/email.md, docs/chat.md).
    """
    from parcours.desk.email_channel import MailSettings

    mail = None
    if mail_domain:
        try:
            mail = MailSettings(mail_domain, smtp_host, smtp_port, MailSettings.parse_relay(smtp_relay), mail_from,
                                relay_tls=smtp_relay_tls, relay_user=os.environ.get("PARCOURS_SMTP_RELAY_USER"),
                                relay_password=os.environ.get("PARCOURS_SMTP_RELAY_PASSWORD"))
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--smtp-relay") from e
    elif smtp_port or smtp_relay:
        raise click.UsageError("--smtp-port and --smtp-relay need --mail-domain (the domain the desk serves)")
    _serve(ctx, host, port, mail, public_url)


def _serve(ctx: click.Context, host: str, port: int, mail: Any = None, public_url: str | None = None) -> None:
    import uvicorn

    from parcours.web import create_app

    try:
        app = create_app(ctx.obj["db"], mail=mail,
                         public_url=public_url or os.environ.get("PARCOURS_PUBLIC_URL") or f"http://{host}:{port}")
    except StoreError as e:
        raise click.ClickException(str(e)) from e
    console.print(f"Parcours is served at [bold]http://{host}:{port}/[/] (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command()
@click.option("--persons", "n_persons", default=20_000, show_default=True)
@click.option("--days", default=365, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("data/demo"),
              show_default=True, help="Where the generated files go.")
@click.option("--serve/--no-serve", "do_serve", default=True, help="Serve the app after the report.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.pass_context
def demo(ctx: click.Context, n_persons: int, days: int, seed: int, out_dir: Path, do_serve: bool,
         host: str, port: int) -> None:
    """Generate a demo world, import it, print the report and serve it.

    The store is data/demo.duckdb next to --out, rebuilt at every run; an existing store
    given with --db is never overwritten.
    """
    from parcours import demo as demo_world
    from parcours import report as rep

    chosen = ctx.obj["db_chosen"]
    db = Path(ctx.obj["db"]) if chosen else out_dir.parent / "demo.duckdb"
    if chosen and db.exists():
        raise click.ClickException(f"{db} exists; the demo builds a new store: remove it or give another --db")
    with _progress() as bar:
        reports = demo_world.build(db, out_dir, persons=n_persons, days=days, seed=seed,
                                   on_generated=_generate_progress(bar, n_persons),
                                   on_import=_import_progress(bar))
    _print_import(reports)
    with Store(db) as store:
        click.echo(rep.render_text(rep.build(store)))
        email, password, token = demo_world.accounts(store)
        desk_cases = demo_world.desk(store)
        with _progress() as bar:
            analysed = _analyse(store, bar)
        acting = demo_world.act(store)
    console.print(f"\nLog in as [bold]{email}[/] with the password [bold]{password}[/] (admin); "
                  f"API token (admin, shown once): [bold]{token}[/]")
    console.print(f"The service desk (/desk) holds the world's {desk_cases:,} cases; the web chat is at /chat; "
                  f"{analysed:,} comments analysed (/voice).")
    churn_auc = acting["churn"]
    console.print(f"Rules (/act): {', '.join(acting['rules'])}; churn risk "
                  + (f"AUC {churn_auc:.3f}, {acting['scored']:,} customers scored (/act/churn)."
                     if isinstance(churn_auc, float) else f"not computed: {churn_auc}"))
    if do_serve:
        ctx.obj["db"] = db
        _serve(ctx, host, port)



ROLE_HELP = ("admin: everything · analyst: dashboards, metrics, exports · agent: the service desk, customer 360 · "
             "ingest: sends data")


@main.group()
def users() -> None:
    """Users of the web app (e-mail, password, role)."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "analyst", "agent", "ingest"]), required=True, help=ROLE_HELP)
@click.option("--name", default=None, help="Shown in the app (default: the e-mail's local part).")
@click.option("--lang", type=click.Choice(["fr", "en"]), default=None, help="Language of the app for this user.")
@click.password_option(help="At least 10 characters (asked for if not given; $PARCOURS_PASSWORD also works).",
                       envvar="PARCOURS_PASSWORD")
@click.pass_context
def users_add(ctx: click.Context, email: str, role: str, name: str | None, lang: str | None, password: str) -> None:
    """Add a user who logs in to the web app."""
    from parcours import auth

    with _store(ctx) as store:
        try:
            uid = auth.add_user(store, email, password, role, name=name, lang=lang)
        except auth.AuthError as e:
            raise click.ClickException(str(e)) from e
    console.print(f"user {uid} ({email.strip().lower()}, {role}) added")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """The users, with their roles and last login."""
    from parcours import auth

    with _store(ctx, read_only=True) as store:
        rows = auth.list_users(store)
    if as_json:
        _json(rows)
        return
    for u in rows:
        click.echo(f"{u['user_id']}  {u['email']:<32} {u['role']:<8} last login {u['last_login_at'] or 'never'}")


@main.group()
def tokens() -> None:
    """API tokens for other systems (shown once, stored hashed)."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "analyst", "agent", "ingest"]), required=True, help=ROLE_HELP)
@click.pass_context
def tokens_create(ctx: click.Context, name: str, role: str) -> None:
    """Create a token; its secret is printed once (only a hash is kept)."""
    from parcours import auth

    with _store(ctx) as store:
        try:
            token_id, secret = auth.create_token(store, name, role)
        except auth.AuthError as e:
            raise click.ClickException(str(e)) from e
    console.print(f"token {token_id} ({name}, {role}) — copy it now, it is not shown again:", highlight=False)
    click.echo(secret)


@tokens.command("list")
@click.pass_context
def tokens_list(ctx: click.Context) -> None:
    """Tokens, with their roles (never their secrets)."""
    from parcours import auth

    with _store(ctx, read_only=True) as store:
        for t in auth.list_tokens(store):
            state = f"revoked {t['revoked_at']:%Y-%m-%d}" if t["revoked_at"] else "active"
            click.echo(f"{t['token_id']}  {t['name']:<30} {t['role']:<8} {state}")


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_context
def tokens_revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    from parcours import auth

    with _store(ctx) as store:
        if not auth.revoke_token(store, token_id):
            raise click.ClickException(f"no active token {token_id}")
    console.print(f"token {token_id} revoked")


def _analyse(store: Store, bar: Progress) -> int:
    from parcours.voice import analysis

    task = bar.add_task("analysing comments", total=None)
    return analysis.analyse_pending(store, progress=lambda done, total: bar.update(task, completed=done, total=total))


@main.group()
def voice() -> None:
    """The voice of the customer: comments analysed, surveys (docs/surveys.md, docs/verbatims.md)."""


@voice.command("analyse")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.pass_context
def voice_analyse(ctx: click.Context, as_json: bool) -> None:
    """Analyse every comment not analysed yet: language, sentiment, intensity, themes, aspects."""
    from parcours.voice import analysis

    store = _store(ctx)
    with _progress(disable=as_json) as bar:
        n = _analyse(store, bar)
    themes = analysis.themes(store, language="en", examples=0)
    if as_json:
        _json({"analysed": n, "themes": {t.theme: t.n for t in themes}})
        return
    console.print(f"{n:,} comments analysed.")
    for t in themes[:12]:
        console.print(f"  {t.name:<28} {t.n:>8,}  negative {100 * t.negative_share:5.1f} %")


@main.group()
def surveys() -> None:
    """Survey definitions and invitations (stop `parcours serve` first: it is the store's writer)."""


@surveys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def surveys_list(ctx: click.Context, as_json: bool) -> None:
    """Every survey: metric, trigger, channel, on or off."""
    from dataclasses import asdict

    from parcours.voice import surveys as defs

    store = _store(ctx)
    defs.install_defaults(store)
    found = defs.listed(store)
    if as_json:
        _json([asdict(s) for s in found])
        return
    for s in found:
        console.print(f"{'on ' if s.active else 'off'}  {s.survey_id:<18} {s.metric.upper():<6} {s.trigger:<14} "
                      f"{s.channel:<7} {s.name}")


@surveys.command("set")
@click.argument("survey_id")
@click.option("--on/--off", "active", default=None, help="Switch the survey on or off.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A TOML file with the survey's fields (question.fr, question.en, trigger, channel…).")
@click.pass_context
def surveys_set(ctx: click.Context, survey_id: str, active: bool | None, path: Path | None) -> None:
    """Create or change a survey (from a TOML file), or switch it on or off."""
    import tomllib

    from parcours.voice import surveys as defs
    from parcours.voice.model import VoiceError

    store = _store(ctx)
    defs.install_defaults(store)
    try:
        if path is not None:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            defs.save(store, defs.from_dict({**data, "survey_id": survey_id}), actor="cli")
        if active is not None:
            defs.set_active(store, survey_id, active, actor="cli")
    except (VoiceError, TypeError, tomllib.TOMLDecodeError) as e:
        raise click.ClickException(str(e)) from e
    s = defs.get(store, survey_id)
    console.print(f"{survey_id}: {'on' if s and s.active else 'off'}")


@surveys.command("send")
@click.argument("survey_id")
@click.option("--segment", default=None, help="Ask the persons of this segment…")
@click.option("--active-days", default=365, show_default=True, help="… who had a touchpoint in these last days.")
@click.option("--limit", default=1000, show_default=True, help="At most this many persons (a random sample).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def surveys_send(ctx: click.Context, survey_id: str, segment: str | None, active_days: int, limit: int,
                 as_json: bool) -> None:
    """Invite a sample of active customers now (a relational wave); the contact rules hold.
    `parcours serve` delivers the invitations (e-mail through the relay, SMS through the webhook)."""
    from parcours.voice import invitations
    from parcours.voice.model import VoiceError

    store = _store(ctx)
    try:
        people = invitations.sample(store, segment=segment, active_days=active_days, limit=limit)
        counts = invitations.invite_persons(store, survey_id, people)
    except VoiceError as e:
        raise click.ClickException(str(e)) from e
    if as_json:
        _json(counts)
        return
    console.print(", ".join(f"{n:,} {status}" for status, n in counts.items()) or "nobody to ask")


for _command in ACT_COMMANDS:  # acting before the problem (rules, outreach…): their own module
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
