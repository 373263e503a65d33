"""Import files into the store: validate, deduplicate, resolve identities, quarantine.

One file is one transaction, so a killed import leaves nothing half-written, and natural
keys make the re-run idempotent. Every record read ends in exactly one of four counts:
``accepted`` (new), ``updated`` (a newer version of a case or person), ``duplicates``
(already stored, or repeated in the file, with the same values) or ``quarantined`` (with
its row number, field and reason; conflicting duplicates included). Nothing is dropped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from parcours.ingest import identity
from parcours.ingest.mapping import Mapping, check_against
from parcours.ingest.readers import ReadError, Staged, detect_format, detect_table, sha256, stage
from parcours.ingest.validate import Options, compile_rules, lit, q, scale_sql
from parcours.schema import IDENTIFIER_COLUMNS, IMPORT_ORDER, TABLES, Table
from parcours.store import Store
from parcours.store.sql import execute, scalar
from parcours.webhooks import announce_imports

#: Tables whose rows describe something that changes (a case's status, a promise kept): a newer
#: version of a stored key replaces it. Events (touchpoints, orders, answers, messages) never
#: change: a different row under a stored key is a conflict and goes to quarantine.
MUTABLE = {"persons", "cases", "identities", "promises"}
TS_COLUMN = {"persons": "created_at", "touchpoints": "ts", "cases": "opened_at", "orders": "ts",
             "responses": "ts", "promises": "made_at"}

Progress = Callable[[str, float], None]  # (step, percent of that step)


@dataclass
class FileReport:
    """What happened to one file (``--json`` prints these)."""

    source: str
    table: str | None = None
    format: str | None = None
    encoding: str | None = None
    import_id: str | None = None
    rows_read: int = 0
    accepted: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    naive_timestamps: int = 0
    timezone: str | None = None
    persons_created: int = 0
    persons_merged: int = 0
    identities_added: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    problems: list[dict[str, object]] = field(default_factory=list)  # first few quarantined rows
    error: str | None = None          # the file could not be imported at all
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def plan(paths: Iterable[Path], table: str | None, mapping: Mapping | None) -> list[tuple[Path, str | None]]:
    """Files with their target table, in an order that lets identities settle first."""
    out = [(p, table or (mapping.table if mapping else None) or detect_table(p)) for p in paths]
    order = {t: i for i, t in enumerate(IMPORT_ORDER)}
    return sorted(out, key=lambda pt: order.get(pt[1] or "", len(order)))


def import_files(store: Store, paths: Iterable[Path], *, table: str | None = None,
                 mapping: Mapping | None = None, options: Options | None = None,
                 encoding: str | None = None, progress: Callable[[Path, str, float], None] | None = None,
                 ) -> list[FileReport]:
    opts = options or Options()
    if mapping:  # the mapping speaks for its file; the caller's options are left untouched
        opts = replace(opts, timezone=mapping.timezone or opts.timezone,
                       timestamp_format=mapping.timestamp_format or opts.timestamp_format,
                       value_maps=mapping.values)
    reports = []
    for path, tbl in plan(paths, table, mapping):
        cb: Progress | None = (lambda step, pct, _p=path: progress(_p, step, pct)) if progress else None
        reports.append(import_file(store, path, tbl, mapping=mapping, options=opts, encoding=encoding,
                                   progress=cb))
    announce_imports(store, reports)  # subscribers hear of files as of API batches
    return reports


#: called inside the import's transaction once its rows are written (the API writer records its
#: batches there: data and receipts in one commit)
BeforeCommit = Callable[[duckdb.DuckDBPyConnection, "FileReport"], None]


def import_file(store: Store, path: Path, table: str | None, *, mapping: Mapping | None = None,
                options: Options | None = None, encoding: str | None = None,
                progress: Progress | None = None, before_commit: BeforeCommit | None = None) -> FileReport:
    opts = options or Options()
    rep = FileReport(source=str(path), table=table, timezone=opts.timezone)
    t0 = time.perf_counter()
    try:
        rep.format = detect_format(path)
        if table is None:
            raise ReadError(f"{path}: cannot tell which table this file holds from its name; "
                            f"give --table ({', '.join(TABLES)})")
        if mapping:
            check_against(mapping, table, str(path))
        if not path.is_file():
            raise ReadError(f"{path}: no such file")
        rep.import_id = uuid.uuid4().hex[:12]
        digest = sha256(path)
        _import(store, store.con, path, TABLES[table], rep, digest, mapping or Mapping(), opts,
                encoding, progress or (lambda s, p: None), before_commit)
    except (ReadError, ValueError) as e:
        rep.error = str(e)
    finally:
        _drop_scratch(store.con)
    rep.seconds = round(time.perf_counter() - t0, 3)
    return rep


def _import(store: Store, con: duckdb.DuckDBPyConnection, path: Path, tbl: Table, rep: FileReport,
            digest: str, mapping: Mapping, opts: Options, encoding: str | None, progress: Progress,
            before_commit: BeforeCommit | None) -> None:
    started = datetime.now(timezone.utc)
    progress("read", 0)
    known = [mapping.columns.get(c, c) for c in tbl.column_names] + ["_quarantine_id"]
    staged = stage(con, path, "_stage", encoding=encoding, known_columns=known)
    rules, has_qid, ignored = _typed_view(con, staged, tbl, mapping, opts, str(path))
    rep.rows_read, rep.encoding = staged.rows, (staged.encoding if staged.format != "parquet" else None)
    progress("read", 100)
    rep.ignored_columns = ignored
    qid = ", _qid" if has_qid else ""
    who = [c for c in ("person_id", *IDENTIFIER_COLUMNS) if c in tbl.column_names]
    ts_col = TS_COLUMN.get(tbl.name)
    # identifiers matter later only where a row links two of them (`_node` carries the first)
    n_ids = " + ".join(f"({q(c)} IS NOT NULL)::INT" for c in who) or "0"
    keep = ", ".join([*(f"CASE WHEN {n_ids} >= 2 THEN {q(c)} END AS {q(c)}" for c in who),
                      *([q(ts_col)] if ts_col else [])])
    store.run(f"""CREATE OR REPLACE TEMP TABLE _checked AS
        SELECT _row, _ok, CASE WHEN NOT _ok THEN _errors END AS _errors, _naive, _dirty, _key, hash(_key) AS _kh, _node
               {', ' + keep if keep else ''}{qid} FROM _typed""",
              on_progress=lambda p: progress("check", p))
    rep.naive_timestamps = scalar(con, "SELECT coalesce(sum(_naive), 0) FROM _checked WHERE _ok")

    # 2. duplicates within the file and against the store: only rows that are not new get a status
    tkey = _key_sql(tbl, "t")
    cols = [c for c in tbl.column_names if c != "person_id" or not tbl.needs_person]
    row_hash = "hash(row(" + ", ".join("c." + q(c) for c in cols) + "))"
    tgt_hash = "hash(row(" + ", ".join(f"t.{q(c)}" for c in cols) + "))"  # typed as stored, enums included
    # keys seen twice, grouped by their 64-bit hash (cheaper than the text): a collision only adds
    # a candidate, which _statuses then finds alone under its key
    con.execute("""CREATE OR REPLACE TEMP TABLE _cand AS
        SELECT _row, _key, NULL::VARCHAR AS stored_by, NULL::UBIGINT AS stored_hash FROM _checked
        WHERE _ok AND _kh IN (SELECT _kh FROM _checked WHERE _ok GROUP BY ALL HAVING count(*) > 1)""")
    con.execute(f"""INSERT INTO _cand SELECT c._row, c._key, t.import_id, {tgt_hash} FROM _checked c
        JOIN {tbl.name} t ON {tkey} = c._key WHERE c._ok""")
    mutable = str(tbl.name in MUTABLE).lower()
    if not scalar(con, "SELECT count(*) FROM _cand"):  # every row new: nothing to re-type and hash
        con.execute("CREATE OR REPLACE TEMP TABLE _status AS SELECT _row, NULL::VARCHAR AS status, "
                    "_row AS first_row, NULL::VARCHAR AS stored_by FROM _checked LIMIT 0")
    else:
        _statuses(con, row_hash, mutable)
    progress("check", 100)

    # 3. identities of the rows to be written (new rows, and newer versions of mutable ones)
    progress("identity", 0)
    con.execute("""CREATE OR REPLACE TEMP VIEW _writes AS SELECT * FROM _checked c WHERE c._ok
        AND c._row NOT IN (SELECT _row FROM _status WHERE status <> 'update')""")
    if tbl.needs_person or tbl.name == "persons":
        res = identity.resolve(con, "_writes", import_id=rep.import_id or "", ts_col=ts_col)
        rep.persons_merged, rep.identities_added = res.persons_merged, res.identities_added
    progress("identity", 100)
    _insert_view(con, staged, tbl, mapping, opts, str(path))
    # Everything above only read the store and filled temporary tables (DuckDB builds those
    # twice as fast outside an explicit transaction); everything below writes, all or nothing.
    with store.transaction():
        _write(store, con, path, tbl, rep, digest, staged, has_qid, opts, started, progress)
        if before_commit is not None:
            before_commit(con, rep)
    progress("store", 100)


def _statuses(con: duckdb.DuckDBPyConnection, row_hash: str, mutable: str) -> None:
    """``_status``: each candidate row a duplicate, a conflict (in the file or with the store) or an
    update. The hashes of whole rows are computed only for the candidates."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _hashed AS
        SELECT x._row, x._key, x.stored_by, x.stored_hash, {row_hash} AS h FROM _typed c
        JOIN (SELECT _row, _key, max(stored_by) AS stored_by, max(stored_hash) AS stored_hash
              FROM _cand GROUP BY ALL) x ON x._row = c._row""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _status AS
        SELECT x._row, CASE
          WHEN x._row <> f.first_row THEN CASE WHEN x.h = f.first_hash THEN 'dup' ELSE 'conflict_file' END
          WHEN x.h = x.stored_hash THEN 'dup' WHEN {mutable} THEN 'update' ELSE 'conflict_store' END AS status,
          f.first_row, x.stored_by
        FROM _hashed x JOIN (SELECT _key, min(_row) AS first_row, arg_min(h, _row) AS first_hash
                             FROM _hashed GROUP BY _key) f USING (_key)
        WHERE x._row <> f.first_row OR x.stored_hash IS NOT NULL""")


def _insert_view(con: duckdb.DuckDBPyConnection, staged: Staged, tbl: Table, mapping: Mapping, opts: Options,
                 source: str) -> None:
    """Define ``_to_insert``: the rows the insert writes (not the invalid ones, nor those already
    stored), typed again but for the identifiers that no normalising changed (see typed_sql)."""
    skip = "SELECT _row FROM _status WHERE status <> 'update'"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _fix AS
        SELECT _row, false AS _skip FROM _checked WHERE _ok AND _dirty AND _row NOT IN ({skip})
        UNION ALL SELECT _row, true FROM _checked WHERE NOT _ok
        UNION ALL SELECT _row, true FROM ({skip})""")
    sql, *_ = typed_sql(staged, tbl, mapping, opts, source, fixes="_fix")
    con.execute(f"CREATE OR REPLACE TEMP VIEW _to_insert AS {sql}")


def _typed_view(con: duckdb.DuckDBPyConnection, staged: Staged, tbl: Table, mapping: Mapping, opts: Options,
                source: str) -> tuple[Any, bool, list[str]]:
    """Define ``_typed`` over the staged rows: every row typed, with its list of errors."""
    sql, rules, has_qid, ignored = typed_sql(staged, tbl, mapping, opts, source)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _typed AS {sql}")
    return rules, has_qid, ignored


def typed_sql(staged: Staged, tbl: Table, mapping: Mapping, opts: Options, source: str,
              *, fixes: str | None = None) -> tuple[str, Any, bool, list[str]]:
    """The query typing every staged row, with its list of errors: (sql, rules, has a
    ``_quarantine_id`` column, ignored columns).

    ``_dirty`` tells the rows where normalising changed an identifier read as text. The insert,
    which types every row a second time, passes ``fixes``: a table of rows (``_row``, ``_skip``)
    that it leaves out (``_skip``) or normalises again (the dirty ones). Every other row takes
    its identifiers as the file gives them, which is what normalising would give: it is the
    dearest part of typing a row, and few rows need it.
    """
    sources, ignored = _bind_columns(tbl, staged, mapping, source)
    rules = compile_rules(tbl, sources, opts)
    text_ids = [c for c in IDENTIFIER_COLUMNS if c in sources and sources[c][1] is None]
    cleaned, typed, rows = dict(rules.cleaned), dict(rules.typed), staged.name
    raw = "".join(f", {sources[c][0]} AS r_{c}" for c in text_ids)
    if fixes:  # (CASE computes a branch only for the rows that take it)
        for c in text_ids:
            cleaned[c] = f"CASE WHEN _fx._row IS NULL THEN {sources[c][0]} ELSE {cleaned[c]} END"
            typed[c] = f"CASE WHEN _fixed THEN {typed[c]} ELSE s_{c} END"
        rows = f"{staged.name} LEFT JOIN {fixes} _fx USING (_row) WHERE _fx._skip IS NOT true"
        raw += ", _fx._row IS NOT NULL AS _fixed"
    dirty = " OR ".join(f"t_{c} IS DISTINCT FROM r_{c}" for c in text_ids) or "false"
    has_qid = any(c.lower() == "_quarantine_id" for c in staged.columns)
    # `_typed` is the whole typed row (a view, recomputed when needed); `_checked` keeps only
    # what later steps need, because materialising every typed column costs more than
    # computing it twice.
    node = identity.node_sql() if (tbl.needs_person or tbl.name == "persons") else "NULL"
    l1 = ", ".join(f"{expr} AS s_{name}" for name, expr in cleaned.items())
    l2 = ", ".join(f"{expr} AS t_{name}" for name, expr in typed.items())
    l3 = ", ".join(f"t_{name} AS {q(name)}" for name in typed)
    qid = ", _qid" if has_qid else ""
    qid_src = ', "_quarantine_id" AS _qid' if has_qid else ""
    sql = f"""SELECT *, len(_errors) = 0 AS _ok, {node} AS _node, {_key_sql(tbl)} AS _key FROM (
          SELECT _row, {l3}, {rules.errors} AS _errors, {rules.naive} AS _naive, {dirty} AS _dirty{qid} FROM (
            SELECT *, {l2} FROM (SELECT _row{qid_src}, {l1}{raw} FROM {rows})))"""
    return sql, rules, has_qid, ignored


def _write(store: Store, con: duckdb.DuckDBPyConnection, path: Path, tbl: Table, rep: FileReport,
           digest: str, staged: Staged, has_qid: bool, opts: Options, started: datetime,
           progress: Progress) -> None:
    progress("store", 0)
    if tbl.needs_person:
        rep.persons_created = identity.create_new_persons(con, import_id=rep.import_id or "")
    values = _final_values(tbl)
    person = "coalesce(w.person_id, c.person_id)" if tbl.needs_person else None
    select = ", ".join(person if (c == "person_id" and person) else values.get(c, f"c.{q(c)}")
                       for c in tbl.column_names)
    join = "LEFT JOIN _who w ON w._node = c._node" if tbl.needs_person else ""
    if tbl.name in MUTABLE:
        con.execute(f"""DELETE FROM {tbl.name} WHERE {_key_sql(tbl, tbl.name)} IN (
            SELECT c._key FROM _checked c JOIN _status s USING (_row) WHERE s.status = 'update')""")
    # Row order in a fact table means nothing; letting DuckDB drop it makes this insert (the
    # biggest cost of an import) run on every core instead of one.
    con.execute("SET preserve_insertion_order = false")
    try:
        store.run(f"INSERT INTO {tbl.name} ({', '.join(q(c) for c in tbl.column_names)}, import_id) "
                  f"SELECT {select}, '{rep.import_id}' FROM _to_insert c {join}",
                  on_progress=lambda p: progress("store", p * 0.9))
    finally:
        con.execute("SET preserve_insertion_order = true")
    if tbl.name == "identities":  # a CRM's list may name persons not imported yet
        execute(con, "INSERT INTO persons (person_id, import_id) SELECT DISTINCT person_id, ? FROM identities "
                     "WHERE person_id NOT IN (SELECT person_id FROM persons)", [rep.import_id])
    if tbl.needs_person or tbl.name == "persons":
        identity.apply(con, import_id=rep.import_id or "", source=str(path))
        if tbl.name == "persons":
            rep.persons_created = scalar(con, "SELECT count(*) FROM persons WHERE import_id = ?", [rep.import_id])

    counts = dict(con.execute("SELECT status, count(*) FROM _status GROUP BY status").fetchall())
    good = scalar(con, "SELECT count(*) FROM _checked WHERE _ok")
    rep.updated, rep.duplicates = counts.get("update", 0), counts.get("dup", 0)
    rep.accepted = good - sum(counts.values())

    # 5. quarantine: invalid rows, conflicting duplicates, unreadable records
    rep.quarantined = _quarantine(con, tbl, staged, rep, digest, str(path))
    _resolve_quarantine(con, tbl, rep.import_id or "", has_qid)
    execute(con, """INSERT INTO imports VALUES (?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                 [rep.import_id, str(path), digest, tbl.name, started, rep.rows_read,
                  rep.accepted, rep.updated, rep.duplicates, rep.quarantined, rep.naive_timestamps,
                  opts.timezone, rep.persons_created, rep.persons_merged])
    rep.problems = [dict(zip(("row", "field", "reason"), r)) for r in execute(con,
        "SELECT row_number, field, reason FROM quarantine WHERE import_id = ? ORDER BY row_number, field LIMIT 10",
        [rep.import_id]).fetchall()]
    total = rep.accepted + rep.updated + rep.duplicates + rep.quarantined
    if total != rep.rows_read:  # the invariant the whole importer is built on
        raise RuntimeError(f"{path}: {rep.rows_read} rows read but {total} accounted for; nothing imported")


def _drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temporary views and tables of an import (a staged file can weigh gigabytes)."""
    for kind, catalog, column in (("VIEW", "duckdb_views()", "view_name"), ("TABLE", "duckdb_tables()", "table_name")):
        for (name,) in con.execute(f"SELECT {column} FROM {catalog} WHERE temporary "
                                   f"AND starts_with({column}, '_')").fetchall():
            con.execute(f"DROP {kind} IF EXISTS {q(name)}")


def _bind_columns(tbl: Table, staged: Staged, mapping: Mapping, path: str
                  ) -> tuple[dict[str, tuple[str, str | None]], list[str]]:
    """Which column of the file feeds each canonical column (mapping first, then same name)."""
    by_lower = {c.lower(): c for c in staged.columns}
    sources: dict[str, tuple[str, str | None]] = {}
    used = set()
    for col in tbl.columns:
        if col.name in mapping.columns:
            src = by_lower.get(mapping.columns[col.name].lower())
            if src is None:
                raise ReadError(f"{path}: the mapping takes {col.name} from column "
                                f"{mapping.columns[col.name]!r}, which the file lacks "
                                f"(it has: {', '.join(staged.columns)})")
        elif col.name.lower() in by_lower:
            src = by_lower[col.name.lower()]
        elif col.name in mapping.constants:
            sources[col.name] = (lit(mapping.constants[col.name]), None)
            continue
        else:
            continue
        used.add(src)
        typ = staged.columns[src]
        sources[col.name] = (q(src), None if typ.startswith("VARCHAR") else typ)
    missing = [c.name for c in tbl.columns if c.required and c.name not in sources]
    if missing:
        raise ReadError(
            f"{path}: required column(s) {', '.join(missing)} missing for table {tbl.name}; "
            f"the file has: {', '.join(staged.columns) or 'no columns'}. Rename them in the file "
            f"or map them with --map (see `parcours import --help`). Nothing was imported from this file.")
    ignored = [c for c in staged.columns if c not in used and c.lower() not in ("_quarantine_id", "_errors")]
    return sources, ignored


def _key_sql(tbl: Table, alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    if len(tbl.key) == 1:
        return f"{a}{q(tbl.key[0])}"
    return " || chr(31) || ".join(f"{a}{q(k)}" for k in tbl.key)


def _final_values(tbl: Table) -> dict[str, str]:
    """Values written that the row may leave implicit (the scale of a standard question)."""
    if tbl.name != "responses":
        return {}
    return {"scale_min": scale_sql("min", "c."), "scale_max": scale_sql("max", "c.")}


def _quarantine(con: duckdb.DuckDBPyConnection, tbl: Table, staged: Staged, rep: FileReport,
                digest: str, source: str) -> int:
    key = "c._key"
    raw_cols = [c for c in staged.columns]
    raw = "to_json(struct_pack(" + ", ".join(f"{q(c)} := r.{q(c)}" for c in raw_cols) + "))" \
        if raw_cols else "NULL::JSON"
    kname = tbl.key[0]
    conflict_reason = (f"CASE s.status WHEN 'conflict_file' THEN 'duplicate {kname} ''' || {key} || "
                       f"''': also at row ' || s.first_row || ' with different values (the first is kept)' "
                       f"ELSE '{kname} ''' || {key} || ''' is already stored with different values "
                       f"(import ' || coalesce(s.stored_by, '?') || '); {tbl.name} rows never change' END")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _q AS
        SELECT c._row, e.field, e.reason, {key} AS record_key FROM
          (SELECT _row, unnest(_errors) AS e FROM _checked WHERE NOT _ok) x
          JOIN _checked c USING (_row)
        UNION ALL
        SELECT c._row, {lit(kname)}, {conflict_reason}, {key}
          FROM _checked c JOIN _status s USING (_row) WHERE s.status LIKE 'conflict%'""")
    execute(con, f"""INSERT INTO quarantine
        SELECT left(md5(? || '/' || x._row || '/' || coalesce(x.field, '')), 16), ?, ?, ?, ?, x._row,
               x.field, x.reason, x.record_key, {raw}, now(), NULL, NULL
        FROM _q x JOIN {staged.name} r ON r._row = x._row
        WHERE left(md5(? || '/' || x._row || '/' || coalesce(x.field, '')), 16)
              NOT IN (SELECT quarantine_id FROM quarantine)""",
                [digest, rep.import_id, tbl.name, source, digest, digest])
    for row, reason, line in staged.rejects:
        qid = scalar(con, "SELECT left(md5(? || '/' || ? || '/'), 16)", [digest, row])
        execute(con, """INSERT INTO quarantine SELECT ?, ?, ?, ?, ?, ?, NULL, ?, NULL, to_json({'_line': ?::VARCHAR}),
                        now(), NULL, NULL WHERE ? NOT IN (SELECT quarantine_id FROM quarantine)""",
                     [qid, rep.import_id, tbl.name, source, digest, row, reason, line, qid])
    n_rows = scalar(con, "SELECT count(DISTINCT _row) FROM _q") + len(staged.rejects)
    con.execute("DROP TABLE _q")
    return n_rows


def _resolve_quarantine(con: duckdb.DuckDBPyConnection, tbl: Table, import_id: str, has_qid: bool) -> None:
    """Entries whose record is now stored (or that a corrected file names) are resolved."""
    stored = ("SELECT {} FROM _checked c WHERE c._ok AND c._row NOT IN "
              "(SELECT _row FROM _status WHERE status LIKE 'conflict%')")
    execute(con, f"""UPDATE quarantine SET resolved_at = now(), resolved_by = ?
        WHERE resolved_at IS NULL AND table_name = ? AND import_id <> ?
          AND record_key IN ({stored.format('c._key')})""", [import_id, tbl.name, import_id])
    if has_qid:
        execute(con, f"""UPDATE quarantine SET resolved_at = now(), resolved_by = ?
            WHERE resolved_at IS NULL AND quarantine_id IN (
              SELECT unnest(string_split(q, ' ')) FROM ({stored.format('c._qid AS q')}))""", [import_id])
