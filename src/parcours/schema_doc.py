"""Render docs/data-model.md from the schema (a test keeps the two identical).

    python -m parcours.schema_doc > docs/data-model.md
"""

from __future__ import annotations

from parcours.schema import DEFAULT_SCALES, IDENTIFIER_COLUMNS, MAX_TEXT_CHARS, TABLES

INTRO = f"""# Data model — the import contract

Generated from `src/parcours/schema.py` by `python -m parcours.schema_doc`; a test fails
if this page and the code differ.

Every table is a DuckDB table in the store, with one extra system column, `import_id`
(the import that wrote the row; see the `imports` journal). Natural keys (**bold** below)
make re-imports idempotent: a row whose key is already stored with the same values is
counted as a duplicate; with different values it is quarantined (events never change),
except for `persons`, `cases` and `identities`, whose newer version replaces the stored one.

Rules applied to every row (a failing row goes to the quarantine with its row number,
field and reason; the other rows are stored):

* **required** columns must be present in the file and non-empty in the row;
* **timestamps** are ISO 8601; one written without a time zone gets the configured zone
  (`--tz`, default Europe/Paris) and is counted in the summary; a mapping may give a
  `timestamp_format` (strptime); values before 1900 or more than a day in the future are refused (a due date such as `promises.due_at` may lie ahead);
* **numbers** accept a decimal comma (`12,5`) and spaces between thousands;
* **enums** are case-insensitive; unknown values are refused unless a mapping translates them;
  they are stored as DuckDB `ENUM` types (one byte a value: faster to write and to scan);
* **identifiers** are normalised: e-mails lower-cased (`Name <a@b.fr>` unwrapped), phones
  to E.164 with the default country (`--country`, default FR), social handles lower-cased
  without `@`; a value that cannot be normalised is refused;
* **text** is limited to {MAX_TEXT_CHARS:,} characters;
* rows of `touchpoints`, `cases`, `orders` and `responses` must name a person: a
  `person_id` or at least one of {', '.join(f'`{c}`' for c in IDENTIFIER_COLUMNS)};
* survey scores must lie in their scale: {', '.join(f'{m.upper()} {a}–{b}' for m, (a, b) in DEFAULT_SCALES.items())}
  unless the row states `scale_min`/`scale_max` (NPS is always 0–10; `custom` must state it).

Identity: identifiers seen on one row belong to one person (union-find over all rows
and the identities already known); see [identity.md](identity.md).
"""


def render() -> str:
    out = [INTRO]
    for t in TABLES.values():
        out.append(f"\n## `{t.name}`\n\n{t.doc}\n")
        out.append("| column | type | required | values / range | description |")
        out.append("|---|---|---|---|---|")
        for c in t.columns:
            name = f"**{c.name}**" if c.name in t.key else c.name
            rng = ", ".join(c.values) if c.values else ""
            if c.min is not None or c.max is not None:
                rng = f"{'' if c.min is None else _n(c.min)}–{'' if c.max is None else _n(c.max)}"
            if c.default is not None:
                rng += f" (default {c.default})"
            out.append(f"| {name} | {c.sql} | {'yes' if c.required else ''} | {rng} | {c.doc} |")
        for r in t.extra_rules:
            out.append(f"\nRule: {r}.")
    return "\n".join(out) + "\n"


def _n(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


if __name__ == "__main__":
    print(render(), end="")
