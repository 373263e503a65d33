"""The demo: a generated world imported into a fresh store, ready to report and serve."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from parcours.ingest.importer import FileReport, import_files
from parcours.simulate import generate
from parcours.store import Store


def build(db: Path, out_dir: Path, *, persons: int = 20_000, days: int = 365, seed: int = 42,
          on_generated: Callable[[int], None] | None = None,
          on_import: Callable[[Path, str, float], None] | None = None) -> list[FileReport]:
    """Generate the world into ``out_dir`` and import it into a new store at ``db``.

    ``db`` is replaced; the caller decides whether it may be (see the CLI's guard).
    """
    db.unlink(missing_ok=True)
    Path(str(db) + ".wal").unlink(missing_ok=True)
    generate(out_dir, persons=persons, days=days, seed=seed, fmt="parquet", progress=on_generated)
    with Store(db) as store:
        return import_files(store, sorted(out_dir.glob("*.parquet")), progress=on_import)


DEMO_ADMIN = "admin@parcours.demo"


def accounts(store: Store) -> tuple[str, str, str]:
    """An admin user with a fresh random password and an admin API token, to try the app
    and the API: (e-mail, password, token). Shown once by the CLI, never stored in clear."""
    from parcours import auth

    password = secrets.token_urlsafe(12)
    auth.add_user(store, DEMO_ADMIN, password, "admin", name="Demo admin")
    _, token = auth.create_token(store, "demo", "admin", created_by="demo")
    return DEMO_ADMIN, password, token


def desk(store: Store) -> int:
    """The demo world's open cases in the desk: a support team for every case topic, the demo
    admin as an agent (online, so routing gives them cases), the imported cases adopted.
    Returns how many cases the desk took."""
    from parcours import auth
    from parcours.desk import agents, cases

    topics = [t for (t,) in store.query("SELECT DISTINCT topic FROM cases WHERE topic IS NOT NULL ORDER BY 1")]
    agents.add_team(store, "support", "Support", topics=topics)
    admin = next((u for u in auth.list_users(store) if u["email"] == DEMO_ADMIN), None)
    agents.add_agent(store, "demo", "Demo admin", email=DEMO_ADMIN, user_id=admin["user_id"] if admin else None,
                     teams=["support"], languages=["fr", "en"], capacity=20, status="online")
    return cases.adopt_imported(store)


def act(store: Store) -> dict[str, object]:
    """The demo world's churn risk (a model trained on its history, every customer scored) and
    the example rules (src/parcours/act/examples.toml). Returns what was done."""
    from parcours.act import churn, rules

    done: dict[str, object] = {"rules": [r.rule_id for r in rules.load_file(store, EXAMPLE_RULES, actor="demo")]}
    try:
        done["churn"] = churn.train(store)["metrics"]["auc"]
        done["scored"] = churn.score(store)["persons"]
    except churn.ChurnError as e:  # a world too small or too short to learn from
        done["churn"] = str(e)
    return done


EXAMPLE_RULES = Path(__file__).parent / "act" / "examples.toml"
