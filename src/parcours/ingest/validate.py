"""Validation rules of the import contract, compiled to SQL.

For one canonical table and one source (its columns and their types), :func:`compile_rules`
returns, for every canonical column, the SQL that yields the typed value and the SQL that
yields an error ``{field, reason}`` (or NULL). The importer evaluates them set-based, so a
row's every problem is found in one pass and named precisely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from parcours.ingest.normalize import identifier_sql
from parcours.schema import DEFAULT_SCALES, IDENTIFIER_COLUMNS, MAX_TEXT_CHARS, Column, Table

# A time of day followed by an offset: "…10:00Z", "…10:00:00+02:00", "…10:00 +0200", "… UTC".
_OFFSET_RE = r"(?i)\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\s*(z|utc|gmt|[+-]\d{2}(:?\d{2})?)$"
_MIN_TS = "TIMESTAMPTZ '1900-01-01 00:00:00+00'"


@dataclass
class Options:
    """How to read values that the file leaves ambiguous."""

    timezone: str = "Europe/Paris"          # for naive timestamps
    country: str = "FR"                      # for national phone numbers
    timestamp_format: str | None = None      # strptime format, if not ISO 8601
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)  # column → {source: canonical}


class Check(NamedTuple):
    """One rule: the row fails when ``fails`` (SQL) is true; ``reason`` is a SQL string expression."""

    fails: str
    field: str
    reason: str


@dataclass(frozen=True)
class Compiled:
    typed: dict[str, str]        # column → typed expression (references inner aliases)
    cleaned: dict[str, str]      # column → cleaned source expression (inner select)
    checks: list[Check]
    naive: str                   # integer expression: how many naive timestamps the row had

    @property
    def errors(self) -> str:
        """The row's list of {field, reason}; built only for rows that fail a check (fast path)."""
        fails = " OR ".join(f"({c.fails})" for c in self.checks) or "false"
        # a reason built from a NULL value would be NULL: say "invalid value" rather than lose the row
        items = ", ".join(f"CASE WHEN {c.fails} THEN {{'field': {lit(c.field)}, "
                          f"'reason': coalesce({c.reason}, 'invalid value')}} END" for c in self.checks)
        return f"CASE WHEN coalesce({fails}, false) THEN list_filter([{items}], lambda e: e IS NOT NULL) ELSE [] END"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _show(s: str) -> str:
    """The offending value as shown in a message, cut to 60 characters."""
    return f"'''' || (CASE WHEN length({s}) > 60 THEN left({s}, 57) || '...' ELSE {s} END) || ''''"


def _cleaned(col: Column, src: str | None, src_type: str | None, opts: Options) -> str:
    if src is None:
        return "NULL"
    if src_type is None or src_type.startswith("VARCHAR"):
        # trim only values that need it: trim() copies every string, which is most of the cost
        v = (f"(CASE WHEN {src} LIKE ' %' OR {src} LIKE '% ' THEN nullif(trim({src}), '') "
             f"WHEN {src} = '' THEN NULL ELSE {src} END)") if col.type != "text" else f"nullif({src}, '')"
        vmap = {k.strip().lower(): v2 for k, v2 in opts.value_maps.get(col.name, {}).items()}
        if vmap:
            cases = " ".join(f"WHEN {lit(k)} THEN {lit(v2)}" for k, v2 in vmap.items())
            v = f"(CASE lower(trim({src})) {cases} ELSE {v} END)"
        return v
    return src


def _timestamp(c: str, src_type: str | None, opts: Options) -> tuple[str, str]:
    """(typed expression, naive flag) for a timestamp source value ``c``."""
    tz = lit(opts.timezone)
    if src_type is None or src_type.startswith("VARCHAR"):
        if opts.timestamp_format:
            fmt = lit(opts.timestamp_format)
            if "%z" in opts.timestamp_format or "%Z" in opts.timestamp_format:
                return f"try_strptime({c}, {fmt})::TIMESTAMPTZ", "0"
            return f"timezone({tz}, try_strptime({c}, {fmt}))", f"({c} IS NOT NULL)::INT"
        has_offset = f"regexp_matches({c}, {lit(_OFFSET_RE)})"
        typed = (f"(CASE WHEN {has_offset} THEN TRY_CAST({c} AS TIMESTAMPTZ) "
                 f"ELSE timezone({tz}, TRY_CAST({c} AS TIMESTAMP)) END)")
        return typed, f"({c} IS NOT NULL AND NOT {has_offset})::INT"
    if src_type.startswith("TIMESTAMP WITH TIME ZONE"):
        return c, "0"
    if src_type.startswith("TIMESTAMP") or src_type == "DATE":
        return f"timezone({tz}, {c}::TIMESTAMP)", f"({c} IS NOT NULL)::INT"
    if src_type in ("BIGINT", "INTEGER", "DOUBLE", "HUGEINT", "UBIGINT"):
        return f"to_timestamp({c}::DOUBLE)", "0"  # epoch seconds
    return f"TRY_CAST({c} AS TIMESTAMPTZ)", "0"


def _number(c: str, src_type: str | None, sql_type: str) -> str:
    if src_type is None or src_type.startswith("VARCHAR"):
        # French exports write decimals with a comma and group thousands with spaces.
        c = (f"(CASE WHEN regexp_full_match({c}, '-?[0-9 \u00a0\u202f]+,[0-9]+') "
             f"THEN replace(regexp_replace({c}, '[ \u00a0\u202f]', '', 'g'), ',', '.') ELSE {c} END)")
    return f"TRY_CAST({c} AS {sql_type})"


def _typed(col: Column, c: str, src_type: str | None, opts: Options) -> tuple[str, str]:
    """(typed expression, naive-timestamp flag) for cleaned source value ``c``."""
    t = col.type
    if t == "timestamp":
        return _timestamp(c, src_type, opts)
    if t in ("int", "float", "money"):
        return _number(c, src_type, col.sql), "0"
    if t == "bool":
        v = f"lower({c}::VARCHAR)"
        return (f"(CASE WHEN {v} IN ('true','t','1','yes','y','oui','o') THEN true "
                f"WHEN {v} IN ('false','f','0','no','n','non') THEN false END)"), "0"
    if t == "enum":
        # straight to the stored ENUM (already trimmed): the insert then has no text to convert,
        # and most values arrive in their canonical spelling, so lower() runs only for the rest.
        # A MAP lookup rather than a cast: DuckDB computes it once per distinct value of a
        # Parquet column's dictionary (a cast runs per row): 0.07 s instead of 0.24 s for 10.6 M
        # rows, and on plain text it is still a fifth cheaper. An unknown value gives NULL.
        v = f"{c}::VARCHAR"
        pairs = ", ".join(f"{lit(x)}: {lit(x)}" for x in col.values)
        m = f"(MAP {{{pairs}}}::MAP(VARCHAR, {col.storage}))"  # a constant: cast once, when bound
        return f"coalesce({m}[{v}], {m}[lower({v})])", "0"
    if t == "json":
        return f"(CASE WHEN json_valid({c}::VARCHAR) THEN {c}::JSON END)", "0"
    if t == "identifier" and col.name in IDENTIFIER_COLUMNS:
        return identifier_sql(col.name, f"{c}::VARCHAR", opts.country), "0"
    return f"{c}::VARCHAR", "0"


def _can_fail(col: Column, src_type: str | None) -> bool:
    """Whether typing a non-empty value of this source can fail (checks that cannot are skipped:
    on a typed Parquet file most columns arrive with their final type)."""
    if col.type in ("id", "text"):
        return False  # any value reads as text
    if src_type is None or src_type.startswith("VARCHAR"):
        return True
    if col.type == "timestamp":
        return not src_type.startswith("TIMESTAMP")
    if col.type == "float":
        return src_type not in ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "SMALLINT", "TINYINT")
    if col.type == "int":
        return src_type not in ("INTEGER", "SMALLINT", "TINYINT")
    return True


def _type_reason(col: Column, c: str) -> str:
    shown = _show(f"{c}::VARCHAR")
    what = {
        "timestamp": "' is not a timestamp (expected ISO 8601, e.g. 2025-03-01T10:00:00+01:00)'",
        "int": "' is not a whole number'", "float": "' is not a number'",
        "money": "' is not an amount'", "bool": "' is not true or false'",
        "json": "' is not valid JSON'",
    }
    if col.type == "enum":
        return f"'unknown {col.name} ' || {shown} || ' (expected one of: {', '.join(col.values)})'"
    if col.type == "identifier":
        kind = {"email": "an e-mail address", "phone": "a phone number",
                "social": "a social handle", "app_id": "an app id"}.get(col.name, "an identifier")
        return f"{shown} || ' is not {kind}'"
    return f"{shown} || {what.get(col.type, chr(39) + ' is not valid' + chr(39))}"


def compile_rules(tbl: Table, sources: dict[str, tuple[str, str | None]], opts: Options) -> Compiled:
    """Compile the rules of ``tbl`` for a source.

    ``sources`` maps each canonical column present in the source to (SQL expression
    over the raw row, its DuckDB type or None for text). Missing columns are NULL.
    """
    cleaned, typed, errors, naive = {}, {}, [], []
    for col in tbl.columns:
        src, src_type = sources.get(col.name, (None, None))
        cleaned[col.name] = _cleaned(col, src, src_type, opts)
        c = f"s_{col.name}"
        expr, nv = _typed(col, c, src_type, opts) if src is not None else ("NULL", "0")
        expr = f"({expr})::{col.storage}"
        if col.default is not None:
            dflt = lit(col.default) + ("::" + col.storage if col.storage != "VARCHAR" else "")
            expr = f"coalesce({expr}, CASE WHEN {c} IS NULL THEN {dflt} END)" if src is not None else dflt
        typed[col.name] = expr
        naive.append(nv)
        t = f"t_{col.name}"
        if col.required:
            errors.append(Check(f"{c} IS NULL", col.name, lit("missing required value")))
        if src is not None and _can_fail(col, src_type):
            errors.append(Check(f"{c} IS NOT NULL AND {t} IS NULL", col.name, _type_reason(col, c)))
        if col.min is not None or col.max is not None:
            lo = col.min if col.min is not None else float("-inf")
            hi = col.max if col.max is not None else float("inf")
            conds = []
            if col.min is not None:
                conds.append(f"{t} < {col.min}")
            if col.max is not None:
                conds.append(f"{t} > {col.max}")
            rng = f"{_fmt(lo)}–{_fmt(hi)}" if col.max is not None else f"at least {_fmt(lo)}"
            reason = f"{lit(col.name + ' ')} || {t}::VARCHAR || {lit(' is out of range ' + rng)}"
            errors.append(Check(" OR ".join(conds), col.name, reason))
        if col.type == "timestamp" and src is not None and col.future:  # a due date may lie ahead
            reason = f"{t}::VARCHAR || " + lit(" is not a plausible time (before 1900)")
            errors.append(Check(f"{t} < {_MIN_TS}", col.name, reason))
        elif col.type == "timestamp" and src is not None:
            reason = f"{t}::VARCHAR || " + lit(" is not a plausible time (before 1900 or in the future)")
            errors.append(Check(f"{t} < {_MIN_TS} OR {t} > now() + INTERVAL 1 DAY", col.name, reason))
        if col.type == "text" and src is not None:
            reason = (f"{lit(col.name + ' is ')} || format('{{:,}}', length({c})) || "
                      f"{lit(f' characters long, over the limit of {MAX_TEXT_CHARS:,}')}")
            errors.append(Check(f"length({c}) > {MAX_TEXT_CHARS}", col.name, reason))
    if tbl.name == "identities" and "value" in sources:
        # a CRM's identifier list: each value is normalised by its kind
        cases = " ".join(f"WHEN {lit(kind)} THEN {identifier_sql(col, 's_value', opts.country)}"
                         for col, kind in IDENTIFIER_COLUMNS.items())
        typed["value"] = f"(CASE lower(trim(s_kind)) {cases} ELSE s_value END)::VARCHAR"
        errors.append(Check("s_value IS NOT NULL AND t_value IS NULL", "value",
                            f"{_show('s_value')} || ' is not a valid ' || lower(s_kind)"))
    errors += _table_rules(tbl)
    return Compiled(typed=typed, cleaned=cleaned, checks=errors, naive=" + ".join(naive))


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def scale_sql(bound: str, prefix: str = "t_") -> str:
    """The effective scale bound (``min`` or ``max``) of an answer: stated, else its metric's default."""
    i = 0 if bound == "min" else 1
    default = " ".join(f"WHEN {lit(m)} THEN {lim[i]}" for m, lim in DEFAULT_SCALES.items())
    return f"coalesce({prefix}scale_{bound}, CASE {prefix}metric {default} END)"


def _table_rules(tbl: Table) -> list[Check]:
    rules = []
    if tbl.needs_person:
        who = ["person_id", *IDENTIFIER_COLUMNS]
        rules.append(Check(" AND ".join(f"s_{w} IS NULL" for w in who), "person_id",
                           lit("no person: give person_id or one of " + ", ".join(IDENTIFIER_COLUMNS))))
    if tbl.name == "cases":
        rules.append(Check("t_closed_at < t_opened_at", "closed_at", lit("closed_at is before opened_at")))
    if tbl.name == "promises":
        rules.append(Check("t_due_at < t_made_at", "due_at", lit("due_at is before made_at")))
    if tbl.name == "responses":
        lo, hi = scale_sql("min"), scale_sql("max")
        rules += [
            Check("t_metric = 'nps' AND (coalesce(t_scale_min, 0) <> 0 OR coalesce(t_scale_max, 10) <> 10)",
                  "scale_max", lit("NPS is always asked on 0–10")),
            Check("t_metric = 'custom' AND (t_scale_min IS NULL OR t_scale_max IS NULL)",
                  "scale_min", lit("a custom question needs scale_min and scale_max")),
            Check(f"t_score IS NOT NULL AND ({lo}) IS NOT NULL AND ({hi}) IS NOT NULL "
                  f"AND (t_score < {lo} OR t_score > {hi})", "score",
                  f"'score ' || t_score::VARCHAR || ' is outside the scale ' || ({lo})::VARCHAR "
                  f"|| '–' || ({hi})::VARCHAR || ' of ' || t_metric"),
        ]
    return rules
