"""Rows plainly valid: a check in Python of the common, clean case, for the API's small batches.

The importer's checks run in SQL (:mod:`parcours.ingest.validate`); on a request of one row
their fixed cost (~30 ms to run a query that large) is the whole latency. Most rows a system
sends are clean — ISO timestamps with an offset, lower-case enums, plain numbers, normalised
identifiers — and that case is cheap to recognise in Python.

:func:`plainly_valid` answers True only when the importer would accept the row for its values;
anything unusual (a naive or exotic timestamp, a decimal comma, a number in a string, an
identifier that needs normalising, surrounding spaces…) answers False, meaning "ask the full
check", never "invalid". So the SQL rules stay the one definition of validity, and a property
test holds this module to them (tests/test_plain_rows.py).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from parcours.ingest.normalize import INTL_PHONE, PLAIN_EMAIL, national_phone
from parcours.ingest.validate import Options
from parcours.schema import DEFAULT_SCALES, IDENTIFIER_COLUMNS, MAX_TEXT_CHARS, TABLES, Column

__all__ = ["plainly_valid"]

_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_INT = re.compile(r"-?[0-9]{1,9}")
_DECIMAL = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,12})?")
_EMAIL = re.compile(PLAIN_EMAIL)
_PHONE = re.compile(r"\+" + INTL_PHONE)
# Numbers as people type them: digits with spaces, dots or dashes, international or national
# in the country the API's rows are read for — what the SQL rule normalises.
_TYPED_PHONE = re.compile(r"\+?[0-9][0-9 .\-]*[0-9]")
_NATIONAL_PHONE = re.compile(national_phone(Options().country))
_BOOLS = frozenset(("true", "t", "1", "yes", "y", "oui", "o", "false", "f", "0", "no", "n", "non"))
_EARLIEST = datetime(1901, 1, 1, tzinfo=timezone.utc)  # the SQL rule says 1900: keep a margin
_NUMBER_LIMIT = 1e12                                   # beyond, leave float formatting to the SQL check


def plainly_valid(table: str, row: Any, *, now: datetime | None = None) -> bool:
    """True when the importer would accept ``row`` (a JSON object of ``table``) for its values;
    False when it is unsure: the full SQL check then decides and names the problems."""
    if not isinstance(row, dict):
        return False
    tbl = TABLES[table]
    names = set(tbl.column_names)
    if any(k not in names for k in row if k):  # other keys: the reader's matching decides
        return False
    latest = (now or datetime.now(timezone.utc)) + timedelta(hours=23)  # the rule says 1 day
    for col in tbl.columns:
        v = row.get(col.name)
        if v is None:
            if col.required:
                return False
        elif not _value_ok(col, v, latest):
            return False
    if tbl.needs_person and all(row.get(c) is None for c in ("person_id", *IDENTIFIER_COLUMNS)):
        return False
    if table == "promises":
        return _promise_ok(row)
    return table != "responses" or _answer_ok(row)


def _value_ok(col: Column, v: Any, latest: datetime) -> bool:
    if isinstance(v, str):
        if not v or v != v.strip() or _has_surrogate(v):
            return False  # empty (read as missing), to be trimmed, or unreadable: the SQL check says
    elif isinstance(v, (dict, list)):
        return col.type == "json"
    t = col.type
    if t in ("id", "text"):
        return isinstance(v, str) and (t == "id" or len(v) <= MAX_TEXT_CHARS)
    if t == "timestamp":  # a due date may lie ahead
        return isinstance(v, str) and _timestamp_ok(v, datetime.max.replace(tzinfo=timezone.utc) if col.future
                                                    else latest)
    if t in ("int", "float", "money"):
        return _number_ok(col, v)
    if t == "bool":
        return isinstance(v, bool) or (isinstance(v, str) and v in _BOOLS)
    if t == "enum":
        return isinstance(v, str) and v in col.values
    if t == "identifier":
        return isinstance(v, str) and _identifier_ok(col.name, v)
    return False  # json given as a string: its validity is the SQL check's


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _timestamp_ok(v: str, latest: datetime) -> bool:
    if not _TS.fullmatch(v):
        return False
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        return False
    offset = t.utcoffset()
    return offset is not None and abs(offset) <= timedelta(hours=14) and _EARLIEST <= t <= latest


def _number_ok(col: Column, v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, str):
        if not (_INT if col.type == "int" else _DECIMAL).fullmatch(v):
            return False
        x: float = float(v)
    elif isinstance(v, int) or (isinstance(v, float) and col.type != "int"):
        x = float(v)
    else:
        return False
    if not math.isfinite(x) or abs(x) >= _NUMBER_LIMIT or (col.type == "int" and abs(x) > 2**31 - 1):
        return False
    return (col.min is None or x >= col.min) and (col.max is None or x <= col.max)


def _identifier_ok(name: str, v: str) -> bool:
    if name == "email":  # an upper-case letter only asks for lower-casing (ASCII: both sides agree)
        return bool(_EMAIL.fullmatch(v)) or (v.isascii() and bool(_EMAIL.fullmatch(v.lower())))
    if name == "phone":
        if _PHONE.fullmatch(v):
            return True
        if not _TYPED_PHONE.fullmatch(v):
            return False
        digits = v.replace(" ", "").replace(".", "").replace("-", "")
        return bool(_PHONE.fullmatch(digits) or _NATIONAL_PHONE.fullmatch(digits))
    # social and app ids: ASCII, no white space; a handle is stored lower-cased without its "@"
    plain = v.isascii() and v.isprintable() and " " not in v
    value = v.lower().removeprefix("@") if name == "social" else v
    return plain and 1 <= len(value) <= 200


def _answer_ok(row: dict[str, Any]) -> bool:
    """The responses table's own rules: NPS on 0–10, a custom scale stated, a score within it."""
    metric = row["metric"]
    lo, hi = row.get("scale_min"), row.get("scale_max")
    if not all(x is None or isinstance(x, int) for x in (lo, hi)):
        return False  # scales given as strings: leave them to the SQL check
    if metric == "nps" and ((lo is not None and lo != 0) or (hi is not None and hi != 10)):
        return False
    default = DEFAULT_SCALES.get(metric)
    lo = lo if lo is not None else (default[0] if default else None)
    hi = hi if hi is not None else (default[1] if default else None)
    if lo is None or hi is None:
        return False
    score = row.get("score")
    if score is None:
        return True
    if not isinstance(score, (int, float)) or isinstance(score, bool):
        return False
    return lo <= score <= hi


def _promise_ok(row: dict[str, Any]) -> bool:
    """The promises table's own rule: due_at not before made_at (both already plain timestamps)."""
    return datetime.fromisoformat(row["due_at"]) >= datetime.fromisoformat(row["made_at"])
