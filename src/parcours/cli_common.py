"""What every ``parcours`` command module shares: the consoles, the store from the options, JSON out."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from parcours.store import Store, StoreError

console = Console(stderr=True)
out = Console()


def _store(ctx: click.Context, read_only: bool = False) -> Store:
    """The store of the command's --db, closed when the command ends (a command run in-process,
    from a test or a notebook, leaves no connection behind)."""
    try:
        store = Store(ctx.obj["db"], read_only=read_only, memory_limit=ctx.obj.get("memory"))
    except StoreError as e:
        raise click.ClickException(str(e)) from e
    ctx.call_on_close(store.close)
    return store


def _json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
