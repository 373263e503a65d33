"""Reading import files (CSV, Parquet, JSON lines) into a staging table.

Every record read gets its data-row number (``_row``: 1 is the first record after a CSV
header, or the first line of a JSON-lines file). Records the reader cannot even split
into fields (a truncated last line, broken quoting, invalid JSON) are returned as
*rejects* with their number and raw text, so the importer can quarantine them.
"""

from __future__ import annotations

import csv
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from parcours.ingest.validate import lit, q
from parcours.schema import TABLES
from parcours.store.sql import execute, scalar

FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
           ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_MAX_LINE = 16 * 1024 * 1024  # read a 10 MB field whole, so that validation can name it


class _NotUtf8(Exception):
    """The file is not UTF-8 (try the next encoding)."""


class ReadError(ValueError):
    """A file that cannot be imported at all (the message says why and what to do)."""


@dataclass
class Staged:
    """A file read into the temporary table ``name``."""

    name: str
    format: str
    columns: dict[str, str]                    # column → DuckDB type, as read
    rows: int                                  # records read (staged + rejects)
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (row, reason, raw)
    encoding: str = "utf-8"


def detect_format(path: Path) -> str:
    for suffix in reversed(path.suffixes):
        if suffix.lower() in FORMATS:
            return FORMATS[suffix.lower()]
    raise ReadError(f"{path}: unknown file type {path.suffix!r}; use .csv, .parquet or .jsonl")


def detect_table(path: Path) -> str | None:
    """Table named by the file: ``touchpoints.csv``, ``touchpoints_2025-01.parquet``, ``orders.jsonl``."""
    stem = path.name.split(".")[0].lower()
    for name in sorted(TABLES, key=len, reverse=True):
        if stem == name or stem.startswith(name) or stem == name.rstrip("s") or stem.startswith(name.rstrip("s") + "_"):
            return name
    return None


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def stage(con: duckdb.DuckDBPyConnection, path: Path, name: str, *, encoding: str | None = None,
          known_columns: list[str] | None = None) -> Staged:
    """Read ``path`` into temporary table ``name`` (with a ``_row`` column)."""
    if path.stat().st_size == 0:
        raise ReadError(f"{path}: the file is empty (0 bytes); nothing to import")
    fmt = detect_format(path)
    if fmt == "parquet":
        return _stage_parquet(con, path, name)
    return _stage_text(con, path, name, fmt, encoding, known_columns or [])


def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> Staged:
    try:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
                    f"file_row_number + 1 AS _row FROM read_parquet({lit(str(path))}, file_row_number = true)")
        cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall() if r[0] != "_row"}
        rows = scalar(con, f"SELECT count(*) FROM read_parquet({lit(str(path))})")
    except duckdb.Error as e:
        raise ReadError(f"{path}: not a readable Parquet file ({_first_line(e)})") from e
    return Staged(name, "parquet", cols, rows)


def _stage_text(con: duckdb.DuckDBPyConnection, path: Path, name: str, fmt: str,
                encoding: str | None, known: list[str]) -> Staged:
    read = _read_csv if fmt == "csv" else _read_jsonl
    if encoding is None or encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        try:
            return read(con, path, name, "utf-8", known)
        except (duckdb.Error, _NotUtf8) as e:
            if encoding or not (isinstance(e, _NotUtf8) or "utf-8" in str(e).lower()
                                or "unicode" in str(e).lower()):
                raise ReadError(f"{path}: cannot read as {fmt.upper()} ({_first_line(e)})") from e
        encoding = None  # not UTF-8: French exports are often Windows-1252 (or Latin-1)
    with tempfile.TemporaryDirectory(prefix="parcours-") as tmp:
        utf8, used = _transcode(path, Path(tmp) / ("utf8" + path.suffix), encoding)
        try:
            staged = read(con, utf8, name, "utf-8", known)
        except (duckdb.Error, _NotUtf8) as e:
            raise ReadError(f"{path}: cannot read as {fmt.upper()} ({_first_line(e)})") from e
    staged.encoding = used
    return staged


def _transcode(src: Path, dst: Path, encoding: str | None) -> tuple[Path, str]:
    """Re-encode a file to UTF-8; without a given encoding, Windows-1252 if it fits, else Latin-1."""
    if encoding is None:
        encoding = "cp1252"
        with src.open("rb") as f:
            while chunk := f.read(16 * 1024 * 1024):
                try:
                    chunk.decode("cp1252")
                except UnicodeDecodeError:
                    encoding = "latin-1"
                    break
    try:
        with src.open("r", encoding=encoding, newline="") as fin, dst.open("w", encoding="utf-8", newline="") as fout:
            while text := fin.read(8 * 1024 * 1024):
                fout.write(text)
    except (UnicodeDecodeError, LookupError) as e:
        raise ReadError(f"{src}: cannot decode the file as {encoding} ({e})") from e
    label = {"cp1252": "windows-1252", "latin-1": "latin-1"}.get(encoding, encoding)
    return dst, label


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, name: str, enc: str,
              known: list[str] | None = None) -> Staged:
    """Read strictly (RFC 4180), so that a row with more fields than the header is quarantined:
    the lenient reader would cut the extra values without a word. Strict reading refuses a whole
    file whose lines mix \\r\\n and \\n endings; such a file is read from a copy with \\n endings."""
    with tempfile.TemporaryDirectory(prefix="parcours-") as tmp:
        for copy in (lambda: path, lambda: _lf_endings(path, Path(tmp) / ("lf" + path.suffix))):
            try:
                return _read_csv_as(con, copy(), name, enc, strict=True)
            except duckdb.InvalidInputException as e:
                if "invalid state" not in str(e):  # DuckDB's word for a structure it refuses
                    raise
    # a structure strict reading cannot follow even then: the lenient reader, as a last resort
    return _read_csv_as(con, path, name, enc, strict=False)


def _lf_endings(src: Path, dst: Path) -> Path:
    """Copy ``src`` with every \\r\\n turned into \\n (inside quoted values too)."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        carry = b""
        while chunk := fin.read(8 * 1024 * 1024):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""  # its \n may open the next chunk
            fout.write(chunk[:len(chunk) - len(carry)].replace(b"\r\n", b"\n"))
        fout.write(carry)
    return dst


def _read_csv_as(con: duckdb.DuckDBPyConnection, path: Path, name: str, enc: str, *, strict: bool) -> Staged:
    rj, rs = f"{name}_rejects", f"{name}_scans"
    con.execute(f"DROP TABLE IF EXISTS {rj}; DROP TABLE IF EXISTS {rs}")  # left by a refused attempt
    header, delim = _header(path)
    columns = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in header) + "}"
    opts = (f"columns = {columns}, auto_detect = false, delim = {lit(delim)}, quote = '\"', escape = '\"', "
            f"header = true, encoding = {lit(enc)}, store_rejects = true, "
            f"rejects_table = {lit(rj)}, rejects_scan = {lit(rs)}, max_line_size = {_MAX_LINE}, "
            f"buffer_size = {2 * _MAX_LINE}, null_padding = false, strict_mode = {str(strict).lower()}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS "
                f"SELECT * FROM read_csv({lit(str(path))}, {opts})")
    cols = {c: "VARCHAR" for c in header}
    # a reject's "line" counts the header, a data row does not
    raw = con.execute(f"SELECT line - 1, error_type, coalesce(column_name, ''), error_message, csv_line "
                      f"FROM {rj} ORDER BY line").fetchall()
    con.execute(f"DROP TABLE IF EXISTS {rj}; DROP TABLE IF EXISTS {rs}")
    if enc == "utf-8" and any(r[1] == "INVALID ENCODING" for r in raw):
        raise _NotUtf8(path)
    rejects = _collapse_rejects(raw)
    view = _number_rows(con, name, [r for r, _, _ in rejects])
    staged_rows = scalar(con, f"SELECT count(*) FROM {name}")
    return Staged(view, "csv", cols, staged_rows + len(rejects), rejects)


def _header(path: Path) -> tuple[list[str], str]:
    """Column names and delimiter, from the first line (comma, semicolon, tab or pipe)."""
    with path.open("rb") as f:
        first = f.readline(1024 * 1024)
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _NotUtf8(path) from e
    line = line.rstrip("\r\n")
    delim = max([",", ";", "\t", "|"], key=line.count)
    names = next(csv.reader([line], delimiter=delim), [])
    if not line.strip() or not names:
        raise ReadError(f"{path}: the first line must name the columns, and it is empty")
    clean = [n.strip() for n in names]
    dupes = sorted({n for n in clean if clean.count(n) > 1})
    if dupes or any(not n for n in clean):
        raise ReadError(f"{path}: the header names a column twice or leaves one unnamed "
                        f"({', '.join(dupes) or 'empty name'}); each column needs its own name")
    return clean, delim


def _collapse_rejects(raw: list[tuple]) -> list[tuple[int, str, str]]:
    """One reject per row, with a readable reason."""
    out: dict[int, tuple[int, str, str]] = {}
    for row, etype, colname, message, line in raw:
        if row in out:
            continue
        msg = message.splitlines()[0] if message else etype
        if etype == "MISSING COLUMNS":
            reason = f"line cut short ({msg.lower()}); is the file truncated?"
        elif etype == "TOO MANY COLUMNS":
            reason = f"too many fields ({msg.lower()}); an unquoted delimiter?"
        elif etype == "UNQUOTED VALUE" or etype == "INVALID UNICODE":
            reason = f"unreadable line: {msg}"
        else:
            reason = f"{etype.lower()}: {msg}" + (f" (column {colname})" if colname else "")
        out[row] = (row, reason, (line or "").strip("\r\n"))
    return sorted(out.values())


def _number_rows(con: duckdb.DuckDBPyConnection, name: str, reject_rows: list[int]) -> str:
    """A view of ``name`` that gives each record its data-row number, skipping rejected rows.

    The k-th staged record is the k-th number not taken by a reject: with rejects
    r_1 < r_2 < … it is k + #{i : r_i − i < k}. Returns the view's name.
    """
    view = f"{name}_v"
    # rowids are consecutive in insertion order, but do not start at 0 inside a transaction
    base = scalar(con, f"SELECT coalesce(min(rowid), 0) FROM {name}")
    if not reject_rows:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT *, rowid - {base} + 1 AS _row FROM {name}")
        return view
    gaps = [r - i for i, r in enumerate(sorted(reject_rows), start=1)]
    execute(con, f"CREATE OR REPLACE TEMP TABLE {name}_gaps AS "
                 f"SELECT unnest(?::BIGINT[]) AS g, unnest(range(1, ?::BIGINT + 1)) AS n", [gaps, len(gaps)])
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {view} AS
        SELECT s.* EXCLUDE (_k, g, n), s._k + coalesce(s.n, 0) AS _row FROM (
          SELECT t.*, g.g, g.n FROM (SELECT *, rowid - {base} + 1 AS _k FROM {name}) t
          ASOF LEFT JOIN {name}_gaps g ON t._k > g.g) s""")
    return view


def _read_jsonl(con: duckdb.DuckDBPyConnection, path: Path, name: str, enc: str,
                known: list[str]) -> Staged:
    lines = f"{name}_lines"
    # \x01 cannot appear raw in valid JSON, so each physical line is one field.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {lines} AS SELECT line FROM read_csv({lit(str(path))},
        columns = {{'line': 'VARCHAR'}}, header = false, delim = '\x01', quote = '', escape = '',
        auto_detect = false, encoding = {lit(enc)}, max_line_size = {_MAX_LINE}, buffer_size = {2 * _MAX_LINE})""")
    base = scalar(con, f"SELECT coalesce(min(rowid), 0) FROM {lines}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}_n AS SELECT rowid - {base} + 1 AS _row, line, "
                f"coalesce(CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' END, false) AS ok "
                f"FROM {lines} WHERE line IS NOT NULL AND trim(line) <> ''")
    con.execute(f"DROP TABLE {lines}")
    bad = con.execute(f"SELECT _row, line FROM {name}_n WHERE NOT ok ORDER BY _row").fetchall()
    rejects = [(r, "not a valid JSON object", line) for r, line in bad]
    keys = [k for (k,) in con.execute(
        f"SELECT DISTINCT unnest(json_keys(CASE WHEN ok THEN line END)) FROM {name}_n").fetchall()]
    # an empty key, or one with control characters, quotes or backslashes, cannot name a column
    # (and matches none of the table's): it is ignored — it would also cut the SQL that extracts
    # the values. Column names are case-insensitive: of keys differing only in case, the table's
    # own spelling is kept, else the first seen (the others are ignored, like unknown columns).
    present = [k for k in keys if k and k.isprintable() and '"' not in k and "\\" not in k]
    by_lower: dict[str, str] = {}
    for k in sorted(present, key=lambda k: k not in known):
        by_lower.setdefault(k.lower(), k)
    wanted = list(dict.fromkeys([*(by_lower.get(c.lower(), c) for c in known), *by_lower.values()]))
    extract = ", ".join(f"v[{i + 1}] AS {q(k)}" for i, k in enumerate(wanted)) or "NULL AS _none"
    paths = "[" + ", ".join(lit("$." + _json_path(k)) for k in wanted) + "]" if wanted else "[]"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT _row, {extract} FROM "
                f"(SELECT _row, json_extract_string(CASE WHEN ok THEN line END, {paths}::VARCHAR[]) AS v "
                f"FROM {name}_n WHERE ok) ORDER BY _row")
    total = scalar(con, f"SELECT count(*) FROM {name}_n")
    con.execute(f"DROP TABLE {name}_n")
    cols = {k: "VARCHAR" for k in wanted}
    return Staged(name, "jsonl", cols, total, rejects)


def _json_path(key: str) -> str:
    return '"' + key.replace('"', '\\"') + '"'


def _first_line(e: Exception | None) -> str:
    return str(e).strip().splitlines()[0] if e else "unknown error"
