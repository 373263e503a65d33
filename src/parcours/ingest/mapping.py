"""Column mappings (``--map mapping.toml``): load a foreign export without editing it.

Example, a call-centre log::

    table = "touchpoints"              # optional: the target table
    timezone = "Europe/Paris"          # optional: zone of naive timestamps
    timestamp_format = "%d/%m/%Y %H:%M"  # optional: when not ISO 8601

    [columns]                          # canonical column = column of the file
    event_id = "Call ID"
    ts = "Start time"
    phone = "Caller number"
    wait_s = "Queue time (s)"

    [values.outcome]                   # value in the file = canonical value
    "Résolu" = "resolved"
    "Raccroché" = "abandoned"

    [constants]                        # columns the file lacks, same for every row
    channel = "phone"
    kind = "contact"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from parcours.schema import TABLES


class MappingError(ValueError):
    """The mapping file is not usable (the message names the key)."""


@dataclass
class Mapping:
    table: str | None = None
    timezone: str | None = None
    timestamp_format: str | None = None
    columns: dict[str, str] = field(default_factory=dict)      # canonical → source
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)


def load_mapping(path: Path) -> Mapping:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise MappingError(f"{path}: {e}") from e
    known = {"table", "timezone", "timestamp_format", "columns", "values", "constants"}
    unknown = set(data) - known
    if unknown:
        raise MappingError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; "
                           f"expected {', '.join(sorted(known))}")
    m = Mapping(
        table=data.get("table"), timezone=data.get("timezone"),
        timestamp_format=data.get("timestamp_format"),
        columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
        values={str(c): {str(k): str(v) for k, v in vals.items()}
                for c, vals in data.get("values", {}).items()},
        constants={str(k): str(v) for k, v in data.get("constants", {}).items()},
    )
    if m.table is not None and m.table not in TABLES:
        raise MappingError(f"{path}: table = {m.table!r} is not one of {', '.join(TABLES)}")
    return m


def check_against(m: Mapping, table: str, source: str) -> None:
    """Every canonical name in the mapping must belong to ``table``."""
    names = set(TABLES[table].column_names)
    for section in ("columns", "values", "constants"):
        for col in getattr(m, section):
            if col not in names:
                raise MappingError(f"{source}: [{section}] names {col!r}, which is not a column "
                                   f"of {table} ({', '.join(sorted(names))})")
