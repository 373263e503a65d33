"""The demo world: files, determinism, identities, calibration and survey behaviour.

Real files in a temporary directory, checked with DuckDB SQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

try:
    import parcours.schema  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from parcours.schema import arrow_schema
from parcours.simulate import generate
from parcours.simulate.sisyphus import TARGETS

TABLES = ("persons", "cases", "touchpoints", "messages", "orders", "responses")
KEYS = {"persons": "person_id", "cases": "case_id", "touchpoints": "event_id",
        "messages": "message_id", "orders": "order_id", "responses": "response_id"}
START = date(2025, 1, 1)

#: The NICE–BCG figures, per phone contact of an episode (see docs/demo-world.md).
SISYPHUS_SQL = """
with c as (
    select case_id, channel, outcome, ts, event_id from touchpoints where kind = 'contact'
), flags as (
    select channel,
        coalesce(max((channel = 'email')::int) over before, 0) as email_before,
        coalesce(max((channel <> 'phone' and outcome <> 'resolved')::int) over before, 0) as avoidable,
        coalesce(max((channel <> 'phone')::int) over after, 0) as continue_after,
        coalesce(max((channel = 'chat')::int) over after, 0) as chat_after
    from c
    window before as (partition by case_id order by ts, event_id
                      rows between unbounded preceding and 1 preceding),
           after as (partition by case_id order by ts, event_id
                     rows between 1 following and unbounded following)
), episodes as (
    select case_id, max((channel = 'phone')::int) as called,
           arg_max(outcome, (ts, event_id)) as last_outcome
    from c group by case_id
)
select
    (select avg(email_before) from flags where channel = 'phone') as email_before,
    (select avg(avoidable) from flags where channel = 'phone') as avoidable,
    (select avg(continue_after) from flags where channel = 'phone') as continue_after,
    (select avg(chat_after) from flags where channel = 'phone') as chat_after,
    (select avg((last_outcome in ('unresolved', 'abandoned'))::int)
       from episodes where called = 1) as give_up
"""


def _connect(folder: Path, fmt: str = "parquet") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for name in TABLES:
        reader = (f"read_parquet('{folder}/{name}.parquet')" if fmt == "parquet"
                  else f"read_csv('{folder}/{name}.csv', all_varchar = true)")
        con.execute(f"create view {name} as select * from {reader}")
    con.execute(f"create view truth as select * from read_parquet('{folder}/_truth/identities.parquet')")
    return con


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("world")
    done: list[int] = []
    counts = generate(folder, persons=20_000, seed=42, progress=done.append)
    assert sum(done) == 20_000
    return folder, counts


@pytest.fixture(scope="module")
def db(world: tuple[Path, dict[str, int]]) -> duckdb.DuckDBPyConnection:
    return _connect(world[0])


def test_every_file_has_the_canonical_schema(world: tuple[Path, dict[str, int]]) -> None:
    folder, counts = world
    for name in TABLES:
        schema = pq.read_schema(folder / f"{name}.parquet").remove_metadata()
        assert schema.equals(arrow_schema(name)), name
        assert pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows == counts[name]
    assert counts["touchpoints"] > 15 * counts["persons"]


def test_ids_are_unique_and_times_inside_the_window(db: duckdb.DuckDBPyConnection) -> None:
    for name, key in KEYS.items():
        n, distinct = db.execute(f"select count(*), count(distinct {key}) from {name}").fetchone()
        assert n == distinct, name
    end = datetime(2026, 1, 1, tzinfo=timezone.utc)
    begin = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for name, col in (("touchpoints", "ts"), ("cases", "opened_at"), ("cases", "closed_at"),
                      ("cases", "first_response_at"), ("messages", "ts"), ("orders", "ts"),
                      ("responses", "ts")):
        low, high = db.execute(f"select min({col}), max({col}) from {name}").fetchone()
        assert begin <= low and high < end, (name, col)
    before = db.execute("select count(*) filter (created_at < '2025-01-01') from persons").fetchone()[0]
    assert 0.5 < before / 20_000 < 0.85


def test_rows_name_identifiers_not_persons(db: duckdb.DuckDBPyConnection) -> None:
    for name in ("touchpoints", "cases", "orders", "responses"):
        with_person, anonymous = db.execute(
            f"select count(person_id), count(*) filter (coalesce(email, phone, social, app_id) is null)"
            f" from {name}").fetchone()
        assert with_person == 0 and anonymous == 0, name
    national = db.execute("select count(*) filter (phone like '0%') / count(phone) from touchpoints"
                          ).fetchone()[0]
    assert 0.1 < national < 0.4


def test_same_seed_same_bytes_other_seed_other_world(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, persons=1_500, days=60, seed=7)
    code = ("import sys; from pathlib import Path; sys.path[:0] = sys.argv[2:]; "
            "from parcours.simulate import generate; "
            "generate(Path(sys.argv[1]), persons=1_500, days=60, seed=7)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}          # another process, other str hashes
    subprocess.run([sys.executable, "-c", code, str(b), *sys.path], check=True, env=env)
    generate(c, persons=1_500, days=60, seed=8)
    for name in TABLES:
        file = f"{name}.parquet"
        assert (a / file).read_bytes() == (b / file).read_bytes(), name
        assert (a / file).read_bytes() != (c / file).read_bytes(), name
    truth = "_truth/identities.parquet"
    assert (a / truth).read_bytes() == (b / truth).read_bytes()


def test_csv_reads_back_as_the_same_instants_and_values(tmp_path: Path) -> None:
    generate(tmp_path / "p", persons=1_000, days=90, seed=3)
    generate(tmp_path / "c", persons=1_000, days=90, seed=3, fmt="csv")
    pq_, csv = _connect(tmp_path / "p"), _connect(tmp_path / "c", "csv")
    queries = {
        "touchpoints": "select event_id, epoch_us(ts::timestamptz), email, phone, wait_s::double, text "
                       "from touchpoints order by 1",
        "orders": "select order_id, epoch_us(ts::timestamptz), amount::decimal(14, 2) from orders order by 1",
        "responses": "select response_id, score::double, comment from responses order by 1",
        "cases": "select case_id, epoch_us(closed_at::timestamptz) from cases order by 1",
        "persons": "select person_id, epoch_us(created_at::timestamptz), attributes::json, "
                   "birth_year::int from persons order by 1",
    }
    for name, sql in queries.items():
        assert pq_.execute(sql).fetchall() == csv.execute(sql).fetchall(), name
    bad = csv.execute("select count(*) from touchpoints where try_cast(ts as timestamptz) is null").fetchone()
    assert bad == (0,)


def _normalised_identifiers(con: duckdb.DuckDBPyConnection) -> None:
    """One row per (row, identifier), normalised as the importer does."""
    parts = []
    for name, key in KEYS.items():
        if name == "messages":
            continue
        parts += [
            f"select '{name}:' || {key} as row_id, 'email' as kind, lower(trim(email)) as value from {name}",
            f"select '{name}:' || {key}, 'phone', case when phone like '0%' then '+33' || "
            f"substr(replace(phone, ' ', ''), 2) else replace(phone, ' ', '') end from {name}",
            f"select '{name}:' || {key}, 'social', lower(ltrim(social, '@')) from {name}",
            f"select '{name}:' || {key}, 'app', app_id from {name}",
        ]
    con.execute("create or replace temp table ids as select * from (" + " union all ".join(parts)
                + ") where value is not null")


def test_union_find_on_co_occurring_identifiers_recovers_the_true_persons(
        db: duckdb.DuckDBPyConnection) -> None:
    _normalised_identifiers(db)
    unknown = db.execute("select count(*) from (select distinct kind, value from ids) "
                         "anti join truth using (kind, value)").fetchone()[0]
    assert unknown == 0
    shared = db.execute("select count(*) from (select kind, value from truth group by all "
                        "having count(distinct person_id) > 1)").fetchone()[0]
    assert shared == 0
    pairs = db.execute("""
        select distinct a.kind || ':' || a.value, b.kind || ':' || b.value
        from ids a join ids b on a.row_id = b.row_id and (a.kind, a.value) < (b.kind, b.value)
    """).fetchall()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in pairs:
        parent[find(x)] = find(y)
    owner = {f"{k}:{v}": p for k, v, p in db.execute(
        "select t.kind, t.value, t.person_id from truth t semi join ids using (kind, value)").fetchall()}
    cluster_persons: dict[str, set[str]] = {}
    person_clusters: dict[str, set[str]] = {}
    for ident, person in owner.items():
        root = find(ident)
        cluster_persons.setdefault(root, set()).add(person)
        person_clusters.setdefault(person, set()).add(root)
    assert all(len(p) == 1 for p in cluster_persons.values())
    assert all(len(c) == 1 for c in person_clusters.values())
    assert len(person_clusters) == 20_000


def test_sisyphus_figures_of_callers_match_nice_bcg(db: duckdb.DuckDBPyConnection) -> None:
    row = db.execute(SISYPHUS_SQL).fetchone()
    got = dict(zip(("email_before", "avoidable", "continue_after", "chat_after", "give_up"), row))
    for name, target in TARGETS.items():
        tolerance = 0.07 if name == "avoidable" else 0.03
        assert abs(got[name] - target) <= tolerance, (name, got[name], target)


def test_contacts_look_like_a_service_desk(db: duckdb.DuckDBPyConnection) -> None:
    waits = dict(db.execute("""
        select channel, median(wait_s) from touchpoints where kind = 'contact' group by channel
    """).fetchall())
    assert 60 < waits["phone"] < 600 and waits["email"] > 3600 and waits["chat"] < 120
    in_hours = db.execute("""
        select avg((hour(ts at time zone 'Europe/Paris') between 8 and 19
                    and dayofweek(ts at time zone 'Europe/Paris') <> 0)::int)
        from touchpoints where kind = 'contact' and channel = 'phone'
    """).fetchone()[0]
    assert in_hours > 0.95
    bad_cases = db.execute("""
        select count(*) from cases where closed_at < opened_at or first_response_at < opened_at
    """).fetchone()[0]
    assert bad_cases == 0
    orphans = db.execute("select count(*) from messages anti join cases using (case_id)").fetchone()[0]
    assert orphans == 0


def test_scores_fall_with_waits_switches_and_contacts(db: duckdb.DuckDBPyConnection) -> None:
    db.execute("""
        create or replace temp table journeys as
        select case_id, sum(coalesce(wait_s, 0)) as wait, count(*) as contacts,
               count(distinct channel) - 1 as switches
        from touchpoints where kind = 'contact' group by case_id
    """)
    csat_wait, csat_switch, ces_contacts = db.execute("""
        select corr(score, ln(1 + wait)) filter (metric = 'csat'),
               corr(score, switches) filter (metric = 'csat'),
               corr(score, contacts) filter (metric = 'ces')
        from responses join journeys using (case_id)
    """).fetchone()
    assert csat_wait < -0.1 and csat_switch < -0.15 and ces_contacts < -0.2
    nps, csat = db.execute("""
        select 100 * avg((score >= 9)::int - (score <= 6)::int) filter (metric = 'nps'),
               100 * avg((score >= 4)::int) filter (metric = 'csat')
        from responses where score is not null
    """).fetchone()
    assert 5 < nps < 35 and 65 < csat < 90
    out_of_scale = db.execute("""
        select count(*) from responses where score < scale_min or score > scale_max
           or (metric = 'nps' and (scale_min, scale_max) <> (0, 10))
           or (metric = 'csat' and (scale_min, scale_max) <> (1, 5))
           or (metric = 'ces' and (scale_min, scale_max) <> (1, 7))
           or (metric = 'nps') = (case_id is not null)
    """).fetchone()[0]
    assert out_of_scale == 0


def test_verbatims_speak_the_persons_language_and_match_the_score(
        db: duckdb.DuckDBPyConnection) -> None:
    _normalised_identifiers(db)
    mismatched = db.execute("""
        select count(*) from responses r
        join ids on ids.row_id = 'responses:' || r.response_id
        join truth t using (kind, value) join persons p on p.person_id = t.person_id
        where r.language <> p.language
    """).fetchone()[0]
    assert mismatched == 0
    both = db.execute("""
        select count(*) from (select comment from responses where comment is not null
                              group by comment having count(distinct language) > 1)
    """).fetchone()[0]
    assert both == 0
    distinct = dict(db.execute("""
        select language, count(distinct comment) from responses group by language
    """).fetchall())
    assert distinct["fr"] >= 40 and distinct["en"] >= 40
    tone = dict(db.execute("""
        select metric, avg(case when score <= 6 then regexp_matches(comment,
            'déçu|pas terrible|pénible|inadmissible|mécontente|disappointed|not great|painful'
            '|unacceptable|not happy', 'i')::int end)
        from responses where comment is not null and metric = 'nps' group by metric
    """).fetchall())
    assert tone["nps"] == 1.0
