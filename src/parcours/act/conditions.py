"""The condition language of rules: a small, safe expression compiled to DuckDB SQL.

A manager writes what she would say::

    metric = 'nps' and score <= 6
    channels(48h) >= 2 and direction = 'inbound'
    kind = 'delivery' and age > 5d and not kept
    churn_risk > 0.6 and segment in ('premium', 'pro')

Grammar: ``or`` / ``and`` / ``not`` over comparisons ``a op b`` (``= != < <= > >=``),
``x in (v, …)``, ``x is [not] null``, ``text contains 'word'``; operands are the subject's
fields (:mod:`parcours.act.subjects`), numbers, 'strings', durations (``30m 48h 5d 2w``,
compared with ages in seconds), ``true``/``false``. A field may take a duration argument
(``channels(48h)``). Nothing else gets through: every name is looked up in the subject's
catalogue and every value becomes a bound parameter, so a condition can never run SQL of
its own. A mistake is a :class:`ConditionError` that says where and why.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Compiled", "ConditionError", "Field", "compile_condition", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_TOKEN = re.compile(r"""\s*(?:
    (?P<duration>\d+(?:\.\d+)?[smhdw])\b |
    (?P<number>-?\d+(?:\.\d+)?) |
    (?P<string>'(?:[^']|'')*') |
    (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,) |
    (?P<name>[A-Za-z_][A-Za-z0-9_]*)
)""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false", "contains"}
MAX_CHARS = 2000
MAX_DEPTH = 30
MAX_DURATION_S = 10 * 366 * 86_400  # ten years: longer is a typo, and past what DuckDB's intervals hold

class ConditionError(ValueError):
    """A condition that cannot be compiled; ``column`` is where (1-based) the problem starts."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message if column is None else f"{message} (at character {column})")
        self.column = column

@dataclass(frozen=True)
class Field:
    """One thing a condition may name. ``sql`` is a DuckDB expression over the subject's row
    (``{arg}`` stands for a duration argument in seconds when ``takes_duration``)."""

    name: str
    type: str                         # number, text, enum, bool, age (seconds)
    doc: str
    sql: str
    values: tuple[str, ...] = ()      # for enums: the values a condition may compare with
    takes_duration: bool = False
    default_duration_s: float | None = None

@dataclass
class Compiled:
    """A condition as SQL with ``?`` placeholders for ``params``; the fields it names.

    ``sql`` reads the fields' values from columns ``_f0, _f1…`` (the ``shown`` fields, in order),
    which the engine computes once in an inner query: a field named twice (a window counted for
    the condition and for the reason) is computed once. ``inline`` puts the fields' SQL in
    their place, for a WHERE over the subject's own rows."""

    text: str
    sql: str
    params: list[Any]
    fields: list[str] = field(default_factory=list)
    #: the fields' values, in the order of their columns: (label as written, e.g. "channels(48h)",
    #: its SQL, its type); the first few are a firing's reason
    shown: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def inline(self) -> str:
        return _FIELD_COLUMN.sub(lambda m: self.shown[int(m[1])][1], self.sql)

def parse_duration(text: str) -> float:
    """'48h' → 172800.0 seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not m:
        raise ConditionError(f"{text!r} is not a duration (write 30m, 48h, 5d, 2w)")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not seconds <= MAX_DURATION_S:
        raise ConditionError(f"{text.strip()!r} is longer than ten years")
    return seconds

@dataclass
class _Tok:
    kind: str
    value: str
    col: int

def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise ConditionError(f"unexpected {text[start]!r}", start + 1)
        kind = m.lastgroup or ""
        value = m.group(kind)
        col = m.start(kind) + 1
        if kind == "name" and value.lower() in _KEYWORDS:
            kind, value = "kw", value.lower()
        out.append(_Tok(kind, value, col))
        pos = m.end()
    return out

class _Parser:
    """Recursive descent; each method returns (sql, type) and appends parameters."""

    def __init__(self, text: str, fields: dict[str, Field], subject: str) -> None:
        self.text, self.fields, self.subject = text, fields, subject
        self.toks = _tokens(text)
        self.i = 0
        self.params: list[Any] = []
        self.used: list[str] = []
        self.shown: dict[str, tuple[str, str]] = {}
        self.depth = 0

    # -- helpers
    def field_ref(self, label: str, sql: str, typ: str) -> str:
        """The column holding the field's value (see :class:`Compiled`); each field once."""
        self.shown.setdefault(label, (sql, typ))
        return f"_f{list(self.shown).index(label)}"

    def peek(self, kind: str | None = None, value: str | None = None) -> _Tok | None:
        if self.i >= len(self.toks):
            return None
        t = self.toks[self.i]
        if (kind and t.kind != kind) or (value and t.value != value):
            return None
        return t

    def take(self, kind: str | None = None, value: str | None = None, what: str = "") -> _Tok:
        t = self.peek(kind, value)
        if t is None:
            found = self.toks[self.i] if self.i < len(self.toks) else None
            where = found.col if found else len(self.text) + 1
            raise ConditionError(f"expected {what or value or kind}, found "
                                 f"{repr(found.value) if found else 'the end'}", where)
        self.i += 1
        return t

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    # -- grammar
    def parse(self) -> str:
        if not self.toks:
            raise ConditionError("the condition is empty (write e.g. score <= 6)")
        sql, typ = self.or_()
        if self.i < len(self.toks):
            t = self.toks[self.i]
            raise ConditionError(f"unexpected {t.value!r}: join conditions with 'and' / 'or'", t.col)
        if typ != "bool":
            raise ConditionError("the condition must be true or false (a comparison), not a value")
        return sql

    def or_(self) -> tuple[str, str]:
        sql, typ = self.and_()
        while self.peek("kw", "or"):
            self.i += 1
            right, rt = self.and_()
            self._bools(typ, rt)
            sql, typ = f"({sql} OR {right})", "bool"
        return sql, typ

    def and_(self) -> tuple[str, str]:
        sql, typ = self.not_()
        while self.peek("kw", "and"):
            self.i += 1
            right, rt = self.not_()
            self._bools(typ, rt)
            sql, typ = f"({sql} AND {right})", "bool"
        return sql, typ

    def _bools(self, *types: str) -> None:
        if any(t != "bool" for t in types):
            t = self.toks[self.i - 1] if self.i else None
            raise ConditionError("'and' / 'or' join comparisons (e.g. score <= 6 and metric = 'nps')",
                                 t.col if t else None)

    def deeper(self, t: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"too deeply nested (more than {MAX_DEPTH} levels of not and parentheses)", t.col)

    def not_(self) -> tuple[str, str]:
        if self.peek("kw", "not"):
            t = self.take()
            self.deeper(t)
            sql, typ = self.not_()
            self.depth -= 1
            if typ != "bool":
                raise ConditionError("'not' applies to a comparison or a yes/no field", t.col)
            # SQL's NOT of an unknown is unknown: `not score >= 7` does not fire on a skipped score
            return f"(NOT {sql})", "bool"
        return self.comparison()

    def comparison(self) -> tuple[str, str]:
        start = self.peek()
        if start is not None and start.kind == "op" and start.value == "(":  # a group: (a or b)
            self.i += 1
            self.deeper(start)
            sql, typ = self.or_()
            self.depth -= 1
            self.take("op", ")", "')' closing the group")
            if typ != "bool":
                raise ConditionError("a group in parentheses must be true or false", start.col)
            return f"({sql})", "bool"
        left, lt, lf = self.operand()
        t = self.peek()
        if t is None or t.kind not in ("op", "kw") or t.value in ("(", ")", ",", "and", "or"):
            if lt != "bool":
                name = start.value if start else "x"
                raise ConditionError(f"{name!r} is a value: compare it (e.g. {name} > 1)", start.col if start else None)
            return f"coalesce({left}, false)", "bool"
        self.i += 1
        if t.value == "in":
            self.take("op", "(", "'(' after in")
            items = [self.literal_for(lt, lf)]
            while self.peek("op", ","):
                self.i += 1
                items.append(self.literal_for(lt, lf))
            self.take("op", ")", "')' closing the list")
            return f"({left} IN ({', '.join(items)}))", "bool"
        if t.value == "is":
            negate = bool(self.peek("kw", "not"))
            if negate:
                self.i += 1
            self.take("kw", "null", "null after is")
            return f"({left} IS {'NOT ' if negate else ''}NULL)", "bool"
        if t.value == "contains":
            if lt not in ("text", "enum"):
                raise ConditionError("'contains' looks for words in a text field", t.col)
            s = self.take("string", what="a 'quoted' word after contains")
            return f"contains(lower({left}), {self.bind(_unquote(s.value).lower())})", "bool"
        if t.kind != "op" or t.value not in ("=", "!=", "<>", "<", "<=", ">", ">="):
            raise ConditionError(f"expected a comparison (= != < <= > >=, in, is null, contains) after "
                                 f"{start.value if start else 'the value'!r}", t.col)
        op = "!=" if t.value == "<>" else t.value
        nxt = self.peek()
        if nxt is not None and nxt.kind == "name":
            right, rt, rf = self.operand()
            self._comparable(lt, rt, t.col)
            if lt == "enum" and lf and rf and set(lf.values) != set(rf.values):
                raise ConditionError(f"{lf.name} and {rf.name} never hold the same values", t.col)
        else:
            right = self.literal_for(lt, lf)
            rt = lt
        if op in ("<", "<=", ">", ">=") and lt in ("text", "enum", "bool"):
            raise ConditionError(f"{start.value if start else 'a text'!r} is not a number: use = or in", t.col)
        return f"({left} {op} {right})", "bool"

    def _comparable(self, a: str, b: str, col: int) -> None:
        numeric = {"number", "age"}
        if (a in numeric) != (b in numeric) or (a == "bool") != (b == "bool"):
            raise ConditionError(f"cannot compare a {a} with a {b}", col)

    def operand(self) -> tuple[str, str, Field | None]:
        t = self.peek()
        if t is None:
            raise ConditionError("the condition stops too early: a value is missing", len(self.text) + 1)
        if t.kind == "name":
            self.i += 1
            f = self.fields.get(t.value.lower())
            if f is None:
                close = difflib.get_close_matches(t.value.lower(), list(self.fields), n=3, cutoff=0.6)
                hint = f"; did you mean {', '.join(close[:3])}?" if close else ""
                raise ConditionError(f"unknown field {t.value!r} for a {self.subject} rule{hint} "
                                     f"(fields: {', '.join(sorted(self.fields))})", t.col)
            self.used.append(f.name)
            if f.takes_duration:
                seconds = f.default_duration_s
                if self.peek("op", "("):
                    self.i += 1
                    d = self.take("duration", what="a duration such as 48h inside the parentheses")
                    seconds = parse_duration(d.value)
                    self.take("op", ")", "')'")
                    label = f"{f.name}({d.value})"
                else:
                    label = f.name
                if seconds is None:
                    raise ConditionError(f"{f.name} needs a duration, e.g. {f.name}(48h)", t.col)
                return self.field_ref(label, "(" + f.sql.replace("{arg}", repr(float(seconds))) + ")", f.type), \
                    f.type, f
            if self.peek("op", "("):
                raise ConditionError(f"{f.name} takes no argument", t.col)
            return self.field_ref(f.name, f"({f.sql})", f.type), f.type, f
        if t.kind == "kw" and t.value in ("true", "false"):
            self.i += 1
            return t.value, "bool", None
        if t.kind in ("number", "duration", "string"):
            raise ConditionError("write the field first, then the value (e.g. score <= 6)", t.col)
        raise ConditionError(f"unexpected {t.value!r}", t.col)

    def literal_for(self, typ: str, f: Field | None) -> str:
        t = self.peek()
        if t is None:
            raise ConditionError("a value is missing at the end", len(self.text) + 1)
        self.i += 1
        if typ == "age":
            if t.kind == "duration":
                return self.bind(parse_duration(t.value))
            if t.kind == "number":
                raise ConditionError(f"{f.name if f else 'this'} is a duration: write {t.value}h or {t.value}d",
                                     t.col)
        if typ == "number":
            if t.kind == "number":
                return self.bind(float(t.value))
            raise ConditionError(f"{f.name if f else 'this'} is a number, not {t.value}", t.col)
        if typ == "bool":
            if t.kind == "kw" and t.value in ("true", "false"):
                return t.value
            raise ConditionError(f"{f.name if f else 'this'} is yes/no: compare with true or false", t.col)
        if typ in ("text", "enum"):
            if t.kind != "string":
                raise ConditionError(f"put text values in quotes: '{t.value}'", t.col)
            value = _unquote(t.value)
            if typ == "enum" and f is not None and f.values and value not in f.values:
                raise ConditionError(f"{value!r} is not a known {f.name} (known: {', '.join(f.values)})", t.col)
            return self.bind(value)
        raise ConditionError(f"unexpected value {t.value!r}", t.col)

def _unquote(s: str) -> str:
    return s[1:-1].replace("''", "'")

def compile_condition(text: str, fields: dict[str, Field], subject: str) -> Compiled:
    """The condition as SQL over the subject's row, or :class:`ConditionError`."""
    if not isinstance(text, str):
        raise ConditionError("the condition must be text")
    if len(text) > MAX_CHARS:
        raise ConditionError(f"the condition has {len(text):,} characters; at most {MAX_CHARS:,}")
    p = _Parser(text, fields, subject)
    sql = p.parse()
    shown = [(label, expr, typ) for label, (expr, typ) in p.shown.items()]
    return Compiled(text, sql, p.params, sorted(set(p.used)), shown)


#: a field's column in the compiled SQL (values are bound parameters: no text of the user's is there)
_FIELD_COLUMN = re.compile(r"\b_f(\d+)\b")
