"""CX metrics engine benchmarks: the full report, and the journey metrics against two peers.

    python benchmarks/metrics.py [--persons 500000] [--slice-rows 1000000] [--work benchmarks/work]

1. **Full report**: every table of the generated world (``WORK/world``, reused if it is there,
   else ``parcours generate``) is imported into a fresh store ``WORK/full.duckdb`` (timed, not a
   target); then ``parcours --db full.duckdb report --json > /dev/null`` runs ``--runs`` times,
   each in its own process (wall time, peak RSS by ``os.wait4``). One more process times the
   report section by section (``--worker report-profile``) to show where the time goes.
2. **Journey metrics vs pandas** on a slice of ≈ ``--slice-rows`` touchpoints: every touchpoint
   of the first K persons (by person_id of the full store, so episodes are complete), with their
   persons and responses, written to ``WORK/slice_<rows>/`` and imported into
   ``WORK/slice_<rows>.duckdb``. The store's touchpoints are exported once (untimed) to
   ``store_touchpoints.parquet`` so that the pandas peer sees the same resolved person ids.
   Parcours (``--worker journeys``) reads its store; the peer (``journeys_pandas.py``) reads the
   Parquet export; both compute the same figures, write them to JSON, and are compared
   (counts exactly, shares and means to 1e-9). On the slice only, a second pandas peer
   (``journeys_pandas_loop.py``: the straightforward per-episode Python loop) is compared the
   same way (``journeys_vs_pandas_loop``).
3. **Switching matrix vs pm4py**: the contacts with their episode ids, as Parcours computes them,
   exported once (untimed) to ``episodes.parquet`` sorted by (ts, event_id) and to the table
   ``episodes`` of ``episodes.duckdb``. pm4py (``switching_pm4py.py``): read the Parquet file,
   ``discover_dfg``. Parcours: ``channel_switching`` on the ``episodes`` table (same starting
   point), and also the full path from the store's touchpoints. Counts are compared.
4. Steps 2 and 3 run again, as extra figures, on the full store (all touchpoints), and the
   journey comparison once more with case ids ignored, so that the person + topic + 7-day
   rule (unused by the demo world, whose contacts all carry a case) is checked too.

Every measured process runs ``--runs`` times (default 3), peers interleaved with Parcours so that
both see the same machine noise; ratios are taken run by run. The in-process figures (``load +
compute``: from opening the data to the last figure, imports excluded) and the process wall
times (interpreter start and imports included) are both recorded. Results:
``benchmarks/metrics_results.json`` (``--results``) and a summary table. Nothing is asserted
about timings; identical results are asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from processes import PARCOURS, measure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
SELF = [PY, str(Path(__file__).resolve())]
TOL = 1e-9
NOTES = [
    "in-process seconds: from opening the data (store, or Parquet file for the peers) to the last figure; "
    "interpreter start and library imports excluded on every side (Parcours' lazy imports, incl. the pandas "
    "import of Ibis' DuckDB result converter, are done before the timer); wall seconds: the whole process",
    "pandas peer reads the store's touchpoints exported once (untimed) to Parquet (9 columns read); Parcours reads "
    "its DuckDB store; loading counts on both sides",
    "pm4py reads episodes.parquet (contacts with Parcours' episode ids, sorted by (ts, event_id), exported once, "
    "untimed); Parcours' 'table' figure reads the same rows from the table episodes of episodes.duckdb",
    "peak RSS: ru_maxrss of the child via os.wait4; the parent stays stdlib-only so its size (parent_rss_gib) "
    "does not leak into the child's figure",
    "shares are percentages (0-100) compared to an absolute 1e-9; counts exactly",
]


# -- measuring --------------------------------------------------------------------------------


def spread(values: list[float], nd: int = 3) -> dict[str, float]:
    return {"min": round(min(values), nd), "max": round(max(values), nd)}


def label_rows(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else (f"{n // 1000}k" if n % 1000 == 0 else str(n))


# -- comparing --------------------------------------------------------------------------------
def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON figures differ: ints exactly, floats to TOL (absolute), keys the same."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}/{k}: only on one side" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if a is None or b is None:
        return [] if a is None and b is None else [f"{path}: {a!r} vs {b!r}"]
    if isinstance(a, int) and isinstance(b, int):
        return [] if a == b else [f"{path}: {a} vs {b}"]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return [] if math.isclose(a, b, rel_tol=0, abs_tol=TOL) else [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def max_abs_float_diff(a: Any, b: Any) -> float:
    if isinstance(a, dict) and isinstance(b, dict):
        return max([max_abs_float_diff(a[k], b[k]) for k in set(a) & set(b)] or [0.0])
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) if a is not None and b is not None else 0.0
    return 0.0


# -- workers (each runs in its own process) -----------------------------------------------------
def _imports() -> None:
    """What Parcours imports lazily on its first query, imported before the in-process timer
    starts (imports are left out of the in-process figures on every side; the process wall
    time keeps them): the DuckDB backend of Ibis, and its result converter, which imports pandas."""
    import ibis
    import ibis.backends.duckdb  # noqa: F401
    import ibis.backends.duckdb.converter  # noqa: F401

    ibis.duckdb  # noqa: B018  (registers the backend)


def _store(path: str) -> Any:
    from parcours.store import Store

    return Store(path, read_only=True, memory_limit="2GB")  # as `parcours report` opens it


def _records(expr: Any) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def _part(r: dict[str, Any]) -> dict[str, Any]:
    return {"n": int(r["n"]), "k": int(r["k"] or 0), "share": r["share"]}


def worker_journeys(store_path: str, out: str, drop_case_ids: bool = False) -> None:
    """Parcours' journey metrics on a store: the figures the pandas peer computes, no more."""
    t_start = time.perf_counter()
    _imports()
    import ibis

    from parcours.metrics import journeys as J
    t_imported = time.perf_counter()

    steps: dict[str, float] = {}

    def step(name: str, fn: Any) -> Any:
        t = time.perf_counter()
        v = fn()
        steps[name] = round(time.perf_counter() - t, 4)
        return v

    t0 = time.perf_counter()
    store = step("open_store", lambda: _store(store_path))
    tp = store.table("touchpoints")
    if drop_case_ids:
        tp = tp.mutate(case_id=ibis.null("string"))
    # as report.journey_section: episodes, flags and summaries computed once, kept by the engine
    eps = step("episodes (cached)", lambda: J.episodes(J.contacts(tp)).cache())
    flags = step("contact_flags (cached)", lambda: J.contact_flags(eps).cache())
    summary = step("episode_summary (cached)", lambda: J.episode_summary(eps).cache())
    matrix = step("channel_switching", lambda: _records(J.channel_switching(eps)))
    pre = step("preceded_by_other_channel", lambda: _records(J.preceded_by_other_channel(flags)))
    avoid = step("avoidable_contacts", lambda: _records(J.avoidable_contacts(flags))[0])
    avoid_o = step("avoidable_contacts other_channel", lambda: _records(J.avoidable_contacts(flags, other_channel=True))[0])
    calls = step("continue_after phone", lambda: _records(J.continue_after(flags, "phone"))[0])
    gave = step("give_up", lambda: _records(J.give_up(summary))[0])
    gave_c = step("give_up phone", lambda: _records(J.give_up(summary, channel="phone"))[0])
    eff = step("effort", lambda: _records(J.effort(summary))[0])
    n_contacts = step("count contacts", lambda: int(eps.count().execute()))
    t1 = time.perf_counter()

    figures = {
        "contacts": n_contacts,
        "episodes": int(eff["n"]),
        "switch_matrix": {f"{r['from_channel']}>{r['to_channel']}": int(r["n"]) for r in matrix},
        "preceded_by_other_channel": {r["channel"]: _part(r) for r in pre},
        "avoidable": _part(avoid),
        "avoidable_other_channel": _part(avoid_o),
        "continue_after_call": _part(calls),
        "give_up": _part(gave),
        "give_up_calls": _part(gave_c),
        "effort": {"n": int(eff["n"]), **{k: (None if eff[k] is None else float(eff[k])) for k in (
            "contacts_mean", "contacts_median", "contacts_p90", "channels_mean", "multichannel", "duration_h_median")}},
    }
    Path(out).write_text(json.dumps({
        "engine": "parcours (Ibis on DuckDB)", "figures": figures, "steps_s": steps,
        "import_s": t_imported - t_start, "load_s": steps["open_store"],
        "compute_s": t1 - t0 - steps["open_store"], "total_s": t1 - t0}, indent=1))


def worker_switching(source: str, out: str, from_touchpoints: bool) -> None:
    """``channel_switching`` from the ``episodes`` table of a DuckDB file, or from a store's touchpoints."""
    t_start = time.perf_counter()
    _imports()
    import ibis

    from parcours.metrics import journeys as J
    t_imported = time.perf_counter()
    t0 = time.perf_counter()
    if from_touchpoints:
        con = _store(source)
        eps = J.episodes(J.contacts(con.table("touchpoints")))
    else:
        con = ibis.duckdb.connect(source, read_only=True)
        eps = con.table("episodes")
    t1 = time.perf_counter()
    rows = _records(J.channel_switching(eps))
    t2 = time.perf_counter()
    Path(out).write_text(json.dumps({
        "engine": "parcours (Ibis on DuckDB)", "switch_matrix": {f"{r['from_channel']}>{r['to_channel']}": int(r["n"])
                                                                for r in rows},
        "import_s": t_imported - t_start, "load_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0}, indent=1))


def worker_report_profile(store_path: str, out: str) -> None:
    """``report.build`` (what ``parcours report`` runs) with its time split by section and, inside
    each section, by the source line that executes a query (Ibis ``execute``/``to_pyarrow``/
    ``cache`` on DuckDB); a section's time outside queries is Python (model fits, etc.)."""
    import linecache
    import sys as _sys

    t_start = time.perf_counter()
    _imports()
    from ibis.backends.duckdb import Backend

    from parcours import report as R
    t_imported = time.perf_counter()

    queries: list[dict[str, Any]] = []
    sections: dict[str, float] = {}
    current = ["(outside sections)"]
    depth = [0]

    def where() -> str:
        f = _sys._getframe(2)
        while f is not None:
            fn = f.f_code.co_filename
            if ("/parcours/" in fn and "/parcours/metrics/" not in fn and not fn.endswith("metrics.py")
                    and f.f_code.co_name not in ("rows", "_one", "_records")):  # the report's helpers: their caller
                rel = fn.split("/parcours/", 1)[1]
                return f"{rel}:{f.f_lineno} {linecache.getline(fn, f.f_lineno).strip()[:100]}"
            f = f.f_back
        return "(elsewhere)"

    def timed_method(name: str) -> None:
        orig = getattr(Backend, name)

        def wrapper(self: Any, *a: Any, **kw: Any) -> Any:
            if depth[0]:
                return orig(self, *a, **kw)
            depth[0] += 1
            label = where()
            t = time.perf_counter()
            try:
                return orig(self, *a, **kw)
            finally:
                depth[0] -= 1
                queries.append({"section": current[0], "where": label, "s": time.perf_counter() - t})
        setattr(Backend, name, wrapper)

    for name in ("execute", "to_pyarrow", "to_pyarrow_batches", "_create_cached_table"):
        timed_method(name)

    def timed_section(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            current[0] = name
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                sections[name] = sections.get(name, 0.0) + time.perf_counter() - t
                current[0] = "(outside sections)"
        return wrapper

    R.voice = timed_section("voice", R.voice)
    R.journey_section = timed_section("journeys", R.journey_section)
    orig_sections = R.default_sections
    R.default_sections = lambda: {k: timed_section(k, f) for k, f in orig_sections().items()}

    t0 = time.perf_counter()
    store = _store(store_path)
    t1 = time.perf_counter()
    R.build(store)
    total = time.perf_counter() - t0
    sections["(outside sections: counts, span, quarantine)"] = total - (t1 - t0) - sum(sections.values())
    sections["(open store)"] = t1 - t0

    # per section: its queries by source line, summed, and its time outside queries
    by_section: dict[str, Any] = {}
    for name, secs in sections.items():
        qs = [q for q in queries if q["section"] == name or (name.startswith("(outside") and q["section"].startswith("(outside"))]
        lines: dict[str, float] = {}
        for q in qs:
            lines[q["where"]] = lines.get(q["where"], 0.0) + q["s"]
        in_queries = sum(lines.values())
        by_section[name] = {"seconds": round(secs, 3), "in_queries_s": round(in_queries, 3),
                            "outside_queries_s": round(secs - in_queries, 3), "queries": len(qs),
                            "by_line_s": {k: round(v, 3) for k, v in sorted(lines.items(), key=lambda kv: -kv[1])}}
    for name, d in sorted(by_section.items(), key=lambda kv: -kv[1]["seconds"]):
        print(f"    {name:<50} {d['seconds']:7.2f} s  ({d['queries']} queries {d['in_queries_s']:.2f} s, "
              f"Python outside queries {d['outside_queries_s']:.2f} s)")
        for k, v in list(d["by_line_s"].items())[:8]:
            if v >= 0.05:
                print(f"        {v:6.2f} s  {k[:110]}")
    Path(out).write_text(json.dumps({"import_s": round(t_imported - t_start, 3), "total_in_process_s": round(total, 3),
                                     "sections": by_section}, indent=1))


def count_world(world: str) -> dict[str, int]:
    con = duck()
    return {Path(p).stem: con.execute(f"SELECT count(*) FROM read_parquet('{p}')").fetchone()[0]
            for p in sorted(Path(world).glob("*.parquet"))}


def store_rows(store_db: str) -> dict[str, int]:
    con = duck(Path(store_db), read_only=True)
    out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
           for t in ("persons", "identities", "touchpoints", "cases", "messages", "orders", "responses")}
    out["contacts"] = con.execute("SELECT count(*) FROM touchpoints WHERE kind = 'contact' AND "
                                  "(direction IS NULL OR direction = 'inbound')").fetchone()[0]
    return out


HELPERS = {  # data preparation, untimed, in processes of their own: the parent stays small
    "count-world": lambda a: count_world(a[0]),
    "store-rows": lambda a: store_rows(a[0]),
    "make-slice": lambda a: make_slice(Path(a[0]), Path(a[1]), Path(a[2]), int(a[3])),
    "export": lambda a: export_store(Path(a[0]), Path(a[1])),
}


def helper(name: str, *args: Any) -> Any:
    """Run a data-preparation helper in its own process; its JSON result."""
    with tempfile.NamedTemporaryFile("r", suffix=".json") as f:
        subprocess.run([*SELF, "--worker", name, *map(str, args), f.name], check=True)
        return json.loads(Path(f.name).read_text())


def run_worker(argv: list[str]) -> None:
    name, *rest = argv
    if name in HELPERS:
        Path(rest[-1]).write_text(json.dumps(HELPERS[name](rest[:-1])))
    elif name == "journeys":
        worker_journeys(rest[0], rest[1], drop_case_ids="--drop-case-ids" in rest)
    elif name == "switching-table":
        worker_switching(rest[0], rest[1], from_touchpoints=False)
    elif name == "switching-full":
        worker_switching(rest[0], rest[1], from_touchpoints=True)
    elif name == "report-profile":
        worker_report_profile(rest[0], rest[1])
    else:
        raise SystemExit(f"unknown worker {name}")


# -- preparing the data (untimed unless said) -----------------------------------------------------
def duck(path: Path | None = None, read_only: bool = False) -> Any:
    import duckdb

    con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
    con.execute("SET enable_progress_bar = false; SET TimeZone = 'UTC'")
    return con


def make_slice(full_db: Path, world: Path, out_dir: Path, target_rows: int) -> dict[str, Any]:
    """Every touchpoint of the first K persons (by person_id in the full store) so that ≈ target
    rows, as the raw world rows, plus those persons' raw persons and responses rows."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    con = duck()
    con.execute(f"ATTACH '{full_db}' AS f (READ_ONLY)")
    con.execute(f"""CREATE TEMP TABLE chosen AS
        SELECT person_id FROM (
            SELECT person_id, count(*) AS n, sum(count(*)) OVER (ORDER BY person_id) AS cum
            FROM f.touchpoints GROUP BY person_id)
        WHERE cum - n < {int(target_rows)}""")
    con.execute("CREATE TEMP TABLE events AS SELECT event_id FROM f.touchpoints WHERE person_id IN (SELECT person_id FROM chosen)")
    con.execute(f"""COPY (SELECT w.* FROM read_parquet('{world / 'touchpoints.parquet'}') w
                          WHERE w.event_id IN (SELECT event_id FROM events) ORDER BY w.event_id)
                    TO '{out_dir / 'touchpoints.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT * FROM read_parquet('{world / 'persons.parquet'}')
                          WHERE person_id IN (SELECT person_id FROM chosen) ORDER BY person_id)
                    TO '{out_dir / 'persons.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT w.* FROM read_parquet('{world / 'responses.parquet'}') w
                          WHERE w.response_id IN (SELECT response_id FROM f.responses
                                                  WHERE person_id IN (SELECT person_id FROM chosen))
                          ORDER BY w.response_id)
                    TO '{out_dir / 'responses.parquet'}' (FORMAT parquet)""")
    counts = {"persons": con.execute("SELECT count(*) FROM chosen").fetchone()[0],
              "touchpoints": con.execute("SELECT count(*) FROM events").fetchone()[0],
              "responses": con.execute(f"SELECT count(*) FROM read_parquet('{out_dir / 'responses.parquet'}')").fetchone()[0]}
    con.close()
    return counts


def export_episodes(store: Any, touchpoints: Any, out_dir: Path) -> dict[str, Any]:
    """Parcours' episodes of ``touchpoints`` (an Ibis table of ``store``), sorted by (ts, event_id),
    to ``episodes.parquet`` (for pm4py) and to the table ``episodes`` of ``episodes.duckdb`` (for
    Parcours' matrix). Shared with switching_floor.py."""
    from parcours.metrics import journeys as J

    ep_file, ep_db = out_dir / "episodes.parquet", out_dir / "episodes.duckdb"
    for p in (ep_file, ep_db):
        p.unlink(missing_ok=True)
    eps = J.episodes(J.contacts(touchpoints))
    eps = eps.select("episode_id", "event_id", "ts", "channel").order_by(["ts", "event_id"])
    store.con.execute(f"COPY ({store.ibis().compile(eps)}) TO '{ep_file}' (FORMAT parquet)")
    con = duck(ep_db)
    con.execute(f"CREATE TABLE episodes AS SELECT * FROM read_parquet('{ep_file}')")
    n_ep = con.execute("SELECT count(*), count(DISTINCT episode_id) FROM episodes").fetchone()
    con.close()
    return {"episodes_parquet": str(ep_file), "episodes_db": str(ep_db), "contacts": n_ep[0], "episodes": n_ep[1]}


def export_store(store_db: Path, out_dir: Path) -> dict[str, Any]:
    """The store's touchpoints to Parquet (for the pandas peer), and its episodes (:func:`export_episodes`)."""
    from parcours.store import Store

    tp_file = out_dir / "store_touchpoints.parquet"
    tp_file.unlink(missing_ok=True)
    store = Store(store_db, read_only=True, memory_limit="2GB")
    store.con.execute(f"COPY touchpoints TO '{tp_file}' (FORMAT parquet)")
    episodes = export_episodes(store, store.table("touchpoints"), out_dir)
    store.close()
    n_tp = duck().execute(f"SELECT count(*) FROM read_parquet('{tp_file}')").fetchone()[0]
    return {"store_touchpoints_parquet": str(tp_file), "touchpoints": n_tp, **episodes}


# -- the comparisons ------------------------------------------------------------------------------
def journeys_vs_pandas(store_db: Path, files: dict[str, Any], tmp: Path, runs: int, tag: str,
                       drop_case_ids: bool = False, peer_script: str = "journeys_pandas.py") -> dict[str, Any]:
    extra = ["--drop-case-ids"] if drop_case_ids else []
    per_run, identical, diffs, max_diff = [], True, [], 0.0
    for i in range(runs):
        o_ours, o_peer = tmp / f"{tag}_parcours_{i}.json", tmp / f"{tag}_pandas_{i}.json"
        ours = measure([*SELF, "--worker", "journeys", str(store_db), str(o_ours), *extra],
                       f"[{tag}] parcours journey metrics, run {i + 1}")
        peer = measure([PY, str(HERE / peer_script), files["store_touchpoints_parquet"], str(o_peer), *extra],
                       f"[{tag}] pandas journey metrics, run {i + 1}")
        a, b = json.loads(o_ours.read_text()), json.loads(o_peer.read_text())
        d = differences(a["figures"], b["figures"])
        identical &= not d
        diffs += d
        max_diff = max(max_diff, max_abs_float_diff(a["figures"], b["figures"]))
        per_run.append({"parcours": {"wall_s": ours["seconds"], "peak_rss_gib": ours["peak_rss_gib"],
                                     **{k: round(a[k], 4) for k in ("import_s", "load_s", "compute_s", "total_s")},
                                     "steps_s": a["steps_s"]},
                        "pandas": {"wall_s": peer["seconds"], "peak_rss_gib": peer["peak_rss_gib"],
                                   **{k: round(b[k], 4) for k in ("import_s", "load_s", "compute_s", "total_s")}},
                        "ratio_in_process": round(b["total_s"] / a["total_s"], 2),
                        "ratio_compute_only": round(b["compute_s"] / a["compute_s"], 2),
                        "ratio_process_wall": round(peer["seconds"] / ours["seconds"], 2)})
        print(f"  [{tag}] in-process {a['total_s']:.3f} s vs pandas {b['total_s']:.3f} s "
              f"(load {b['load_s']:.3f} + compute {b['compute_s']:.3f}): {b['total_s'] / a['total_s']:.2f}×; "
              f"identical: {not d}", flush=True)
    if diffs:
        print(f"  [{tag}] DIFFERENCES: {diffs[:20]}")
    figures = json.loads((tmp / f"{tag}_parcours_0.json").read_text())["figures"]
    return {"peer": peer_script, "runs": per_run, "identical": identical, "differences": diffs[:50],
            "max_abs_float_difference": max_diff, "contacts": figures["contacts"], "episodes": figures["episodes"],
            "summary": {
                "parcours_in_process_s": spread([r["parcours"]["total_s"] for r in per_run]),
                "pandas_in_process_s": spread([r["pandas"]["total_s"] for r in per_run]),
                "parcours_wall_s": spread([r["parcours"]["wall_s"] for r in per_run]),
                "pandas_wall_s": spread([r["pandas"]["wall_s"] for r in per_run]),
                "parcours_peak_rss_gib": spread([r["parcours"]["peak_rss_gib"] for r in per_run]),
                "pandas_peak_rss_gib": spread([r["pandas"]["peak_rss_gib"] for r in per_run]),
                "ratio_in_process": spread([r["ratio_in_process"] for r in per_run], 2),
                "ratio_compute_only": spread([r["ratio_compute_only"] for r in per_run], 2),
                "ratio_process_wall": spread([r["ratio_process_wall"] for r in per_run], 2)},
            "figures_parcours_run1": figures}


def switching_vs_pm4py(store_db: Path, files: dict[str, Any], tmp: Path, runs: int, tag: str) -> dict[str, Any]:
    per_run, identical, diffs = [], True, []
    for i in range(runs):
        o_tab, o_full, o_pm = (tmp / f"{tag}_sw_table_{i}.json", tmp / f"{tag}_sw_full_{i}.json",
                               tmp / f"{tag}_sw_pm4py_{i}.json")
        tab = measure([*SELF, "--worker", "switching-table", files["episodes_db"], str(o_tab)],
                      f"[{tag}] parcours channel_switching(episodes table), run {i + 1}")
        full = measure([*SELF, "--worker", "switching-full", str(store_db), str(o_full)],
                       f"[{tag}] parcours channel_switching from touchpoints, run {i + 1}")
        pm = measure([PY, str(HERE / "switching_pm4py.py"), files["episodes_parquet"], str(o_pm)],
                     f"[{tag}] pm4py discover_dfg, run {i + 1}")
        a, f, b = (json.loads(p.read_text()) for p in (o_tab, o_full, o_pm))
        d = [f"table {x}" for x in differences(a["switch_matrix"], b["switch_matrix"])]
        d += [f"from touchpoints {x}" for x in differences(f["switch_matrix"], b["switch_matrix"])]
        identical &= not d
        diffs += d
        r = lambda p, o: round(p / o, 2)  # noqa: E731
        per_run.append({
            "parcours_table": {"wall_s": tab["seconds"], "peak_rss_gib": tab["peak_rss_gib"],
                               **{k: round(a[k], 4) for k in ("import_s", "load_s", "compute_s", "total_s")}},
            "parcours_from_touchpoints": {"wall_s": full["seconds"], "peak_rss_gib": full["peak_rss_gib"],
                                          **{k: round(f[k], 4) for k in ("import_s", "load_s", "compute_s", "total_s")}},
            "pm4py": {"wall_s": pm["seconds"], "peak_rss_gib": pm["peak_rss_gib"],
                      **{k: round(b[k], 4) for k in ("import_s", "load_s", "compute_s", "total_s")}},
            "ratio_table_in_process": r(b["total_s"], a["total_s"]),
            "ratio_table_compute_only": r(b["compute_s"], a["compute_s"]),
            "ratio_table_process_wall": r(pm["seconds"], tab["seconds"]),
            "ratio_from_touchpoints_in_process": r(b["total_s"], f["total_s"]),
            "ratio_from_touchpoints_process_wall": r(pm["seconds"], full["seconds"])})
        print(f"  [{tag}] matrix: parcours {a['total_s']:.3f} s (from touchpoints {f['total_s']:.3f} s) vs pm4py "
              f"{b['total_s']:.3f} s (load {b['load_s']:.3f} + dfg {b['compute_s']:.3f}); identical: {not d}", flush=True)
    if diffs:
        print(f"  [{tag}] DIFFERENCES: {diffs[:20]}")
    keys = [k for k in per_run[0] if k.startswith("ratio")]
    summary = {k: spread([r[k] for r in per_run], 2) for k in keys}
    for side in ("parcours_table", "parcours_from_touchpoints", "pm4py"):
        summary[f"{side}_in_process_s"] = spread([r[side]["total_s"] for r in per_run])
        summary[f"{side}_wall_s"] = spread([r[side]["wall_s"] for r in per_run])
        summary[f"{side}_peak_rss_gib"] = spread([r[side]["peak_rss_gib"] for r in per_run])
    matrix = json.loads((tmp / f"{tag}_sw_pm4py_0.json").read_text())["switch_matrix"]
    return {"runs": per_run, "identical": identical, "differences": diffs[:50], "events": files["contacts"],
            "episodes": files["episodes"], "pairs": sum(matrix.values()), "cells": len(matrix), "summary": summary}


# -- main -------------------------------------------------------------------------------------------
def versions() -> dict[str, Any]:
    from importlib import metadata

    def v(p: str) -> str | None:
        try:
            return metadata.version(p)
        except metadata.PackageNotFoundError:
            return None

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next((int(line.split()[1]) / 1024 / 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                                    capture_output=True, text=True).stdout.strip())
    except OSError:
        commit, dirty = None, None
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cores": os.cpu_count(), "cpu": cpu,
            "memory_gib": round(mem, 1) if mem else None, "python": platform.python_version(),
            "duckdb": v("duckdb"), "ibis": v("ibis-framework"), "pandas": v("pandas"), "numpy": v("numpy"),
            "pyarrow": v("pyarrow"), "pm4py": v("pm4py"), "parcours": v("parcours"),
            "git_commit": commit, "src_uncommitted_changes": dirty}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=500_000, help="persons of the generated world (if generated)")
    ap.add_argument("--slice-rows", type=int, default=1_000_000, help="touchpoints of the slice (whole persons)")
    ap.add_argument("--work", type=Path, default=HERE / "work")
    ap.add_argument("--runs", type=int, default=3, help="measurements of each process")
    ap.add_argument("--results", type=Path, default=HERE / "metrics_results.json")
    ap.add_argument("--reuse-store", action="store_true",
                    help="keep WORK/full.duckdb if it exists (no import; for trying the script)")
    ap.add_argument("--no-full-peers", action="store_true", help="skip the peers on the full store (extra figures)")
    args = ap.parse_args()
    import importlib.util

    if importlib.util.find_spec("pm4py") is None:  # not imported here: this process stays small
        sys.exit("pm4py is missing: .venv/bin/uv pip install --python .venv/bin/python -r benchmarks/requirements.txt")

    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    tmp = work / "metrics_tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    world, full_db = work / "world", work / "full.duckdb"
    res: dict[str, Any] = {"meta": {**versions(), "persons_arg": args.persons, "slice_rows_arg": args.slice_rows,
                                    "runs": args.runs, "tolerance": TOL}}
    t_all = time.perf_counter()

    # 1. world, import, report ------------------------------------------------------------------
    print("1. full report", flush=True)
    tables = ("persons", "touchpoints", "cases", "messages", "orders", "responses")
    if all((world / f"{t}.parquet").exists() for t in tables):
        n_persons = helper("count-world", world)["persons"]
        if n_persons != args.persons:
            sys.exit(f"{world} holds {n_persons:,} persons, not {args.persons:,}: use another --work or delete it")
        res["generate"] = {"reused": str(world)}
        print(f"  reusing {world} ({n_persons:,} persons)")
    else:
        shutil.rmtree(world, ignore_errors=True)
        g = measure([*PARCOURS, "generate", "--persons", str(args.persons), "--out", str(world)],
                    f"generate {args.persons:,} persons")
        res["generate"] = {k: v for k, v in g.items() if k != "stdout"}
    files = sorted(str(p) for p in world.glob("*.parquet"))
    world_rows = helper("count-world", world)
    res["world_rows"] = world_rows
    if args.reuse_store and full_db.exists():
        res["import"] = {"reused": str(full_db)}
        print(f"  reusing {full_db}")
    else:
        for p in (full_db, Path(str(full_db) + ".wal")):
            p.unlink(missing_ok=True)
        imp = measure([*PARCOURS, "--db", str(full_db), "import", *files],
                      f"import all tables ({sum(world_rows.values()):,} rows)")
        res["import"] = {"seconds": imp["seconds"], "peak_rss_gib": imp["peak_rss_gib"], "files": [Path(p).name for p in files],
                         "rows": sum(world_rows.values()), "touchpoints": world_rows.get("touchpoints")}
    store_counts = helper("store-rows", full_db)
    res["store_rows"] = store_counts
    reports = [measure([*PARCOURS, "--db", str(full_db), "report", "--json"],
                       f"report --json ({store_counts['touchpoints']:,} touchpoints), run {i + 1}", stdout=subprocess.DEVNULL)
               for i in range(args.runs)]
    prof_file = tmp / "report_profile.json"
    prof = measure([*SELF, "--worker", "report-profile", str(full_db), str(prof_file)], "report profile (one process)")
    print(prof["stdout"], end="")
    res["report"] = {"runs": [{"wall_s": r["seconds"], "peak_rss_gib": r["peak_rss_gib"]} for r in reports],
                     "wall_s": spread([r["seconds"] for r in reports]),
                     "peak_rss_gib": spread([r["peak_rss_gib"] for r in reports]),
                     "touchpoints": store_counts["touchpoints"],
                     "profile": {"wall_s": prof["seconds"], "peak_rss_gib": prof["peak_rss_gib"],
                                 **json.loads(prof_file.read_text())}}

    # 2–3. the slice, the peers ------------------------------------------------------------------------
    tag = f"slice_{label_rows(args.slice_rows)}"
    print(f"2. slice of ≈ {args.slice_rows:,} touchpoints ({tag})", flush=True)
    slice_dir, slice_db = work / tag, work / f"{tag}.duckdb"
    chosen = helper("make-slice", full_db, world, slice_dir, args.slice_rows)
    for p in (slice_db, Path(str(slice_db) + ".wal")):
        p.unlink(missing_ok=True)
    imp = measure([*PARCOURS, "--db", str(slice_db), "import", *sorted(str(p) for p in slice_dir.glob("*.parquet"))],
                  f"import the slice ({chosen['touchpoints']:,} touchpoints)")
    exported = helper("export", slice_db, slice_dir)
    if exported["touchpoints"] != chosen["touchpoints"]:
        print(f"  note: the slice store holds {exported['touchpoints']:,} touchpoints, {chosen['touchpoints']:,} chosen")
    print(f"  {chosen['persons']:,} persons, {exported['touchpoints']:,} touchpoints, {exported['contacts']:,} contacts, "
          f"{exported['episodes']:,} episodes", flush=True)
    res["slice"] = {"dir": str(slice_dir), "store": str(slice_db), "chosen": chosen, "exported": exported,
                    "import_s": imp["seconds"], "import_peak_rss_gib": imp["peak_rss_gib"],
                    "journeys_vs_pandas": journeys_vs_pandas(slice_db, exported, tmp, args.runs, tag),
                    "journeys_vs_pandas_loop": journeys_vs_pandas(slice_db, exported, tmp, args.runs, f"{tag}_loop",
                                                                  peer_script="journeys_pandas_loop.py")}
    print("3. switching matrix vs pm4py", flush=True)
    res["slice"]["switching_vs_pm4py"] = switching_vs_pm4py(slice_db, exported, tmp, args.runs, tag)

    # 4. extras -------------------------------------------------------------------------------------------
    print("4. extras: the person + topic + gap rule (case ids ignored), the peers on the full store", flush=True)
    res["slice"]["journeys_vs_pandas_case_ids_ignored"] = journeys_vs_pandas(
        slice_db, exported, tmp, 1, f"{tag}_nocase", drop_case_ids=True)
    if not args.no_full_peers:
        full_dir = work / "full_exports"
        full_dir.mkdir(exist_ok=True)
        fx = helper("export", full_db, full_dir)
        res["full_peers"] = {"exported": fx,
                             "journeys_vs_pandas": journeys_vs_pandas(full_db, fx, tmp, args.runs, "full"),
                             "switching_vs_pm4py": switching_vs_pm4py(full_db, fx, tmp, args.runs, "full")}
    res["meta"]["benchmark_minutes"] = round((time.perf_counter() - t_all) / 60, 1)
    res["meta"]["parent_max_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 3)
    res["meta"]["notes"] = NOTES
    args.results.write_text(json.dumps(res, indent=2, default=str) + "\n")
    summarise(res)
    print(f"results written to {args.results}")
    identical = [res["slice"]["journeys_vs_pandas"]["identical"], res["slice"]["journeys_vs_pandas_loop"]["identical"],
                 res["slice"]["switching_vs_pm4py"]["identical"],
                 res["slice"]["journeys_vs_pandas_case_ids_ignored"]["identical"]]
    if "full_peers" in res:
        identical += [res["full_peers"]["journeys_vs_pandas"]["identical"], res["full_peers"]["switching_vs_pm4py"]["identical"]]
    if not all(identical):
        sys.exit("results differ between Parcours and a peer: see the differences in the results file")


def summarise(res: dict[str, Any]) -> None:
    def mm(d: dict[str, float], unit: str = "") -> str:
        return f"{d['min']:g}–{d['max']:g}{unit}"

    rep, s = res["report"], res["slice"]
    jp, sw = s["journeys_vs_pandas"]["summary"], s["switching_vs_pm4py"]["summary"]
    lp = s["journeys_vs_pandas_loop"]
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    rows = [
        (f"full report, {rep['touchpoints']:,} touchpoints", "≤ 15 s", mm(rep["wall_s"], " s"),
         "met" if rep["wall_s"]["max"] <= 15 else ("met in some runs" if rep["wall_s"]["min"] <= 15 else "NOT met")),
        ("peak memory of the report", "≤ 4 GiB", mm(rep["peak_rss_gib"], " GiB"), met(rep["peak_rss_gib"]["max"] <= 4)),
        (f"journeys vs pandas, {s['exported']['touchpoints']:,} tp (in-process)", "≥ 20×",
         mm(jp["ratio_in_process"], "×"), met(jp["ratio_in_process"]["min"] >= 20)),
        ("  same, process wall (imports included)", "", mm(jp["ratio_process_wall"], "×"), ""),
        ("  same, compute only (loading excluded)", "", mm(jp["ratio_compute_only"], "×"), ""),
        ("  identical results", "yes", str(s["journeys_vs_pandas"]["identical"]), ""),
        ("journeys vs pandas per-episode loop (in-process)", "", mm(lp["summary"]["ratio_in_process"], "×"),
         f"identical {lp['identical']}"),
        ("  same, compute only (loading excluded)", "", mm(lp["summary"]["ratio_compute_only"], "×"), ""),
        ("matrix vs pm4py, from the episodes table (in-process)", "≥ 20×",
         mm(sw["ratio_table_in_process"], "×"), met(sw["ratio_table_in_process"]["min"] >= 20)),
        ("  same, process wall", "", mm(sw["ratio_table_process_wall"], "×"), ""),
        ("  Parcours from touchpoints (in-process)", "", mm(sw["ratio_from_touchpoints_in_process"], "×"), ""),
        ("  identical counts", "yes", str(s["switching_vs_pm4py"]["identical"]), ""),
    ]
    if "full_peers" in res:
        fj, fs = res["full_peers"]["journeys_vs_pandas"]["summary"], res["full_peers"]["switching_vs_pm4py"]["summary"]
        rows += [("extra: journeys vs pandas, full store (in-process)", "", mm(fj["ratio_in_process"], "×"),
                  f"identical {res['full_peers']['journeys_vs_pandas']['identical']}"),
                 ("extra: matrix vs pm4py, full store, table (in-process)", "", mm(fs["ratio_table_in_process"], "×"),
                  f"identical {res['full_peers']['switching_vs_pm4py']['identical']}")]
    print()
    print(f"{'figure':<58} {'target':>8} {'measured':>16}  ")
    for r in rows:
        print(f"{r[0]:<58} {r[1]:>8} {r[2]:>16}  {r[3]}")


if __name__ == "__main__":
    main()
