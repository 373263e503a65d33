from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from parcours.cli import main
from parcours.store import Store

TOUCHPOINT_HEADER = ["event_id", "ts", "email", "phone", "channel", "kind", "topic", "outcome", "wait_s", "text"]


def write_csv(path: Path, rows: list[list[Any]], header: list[str] | None = None, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header or TOUCHPOINT_HEADER)
        w.writerows(rows)
    return path


def good_rows(n: int, start: int = 0) -> list[list[Any]]:
    chans = ["email", "phone", "chat", "web"]
    return [[f"e{i}", f"2025-03-{1 + i % 28:02d}T10:{i % 60:02d}:00+01:00", f"client{i % 50}@exemple.fr",
             "", chans[i % 4], "contact", "billing", "resolved", str(10 + i), f"message {i}"]
            for i in range(start, start + n)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture
def cli(db: Path):
    """Run the real CLI in-process; returns (exit code, output, parsed JSON if --json)."""
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, Any]:
        res = runner.invoke(main, ["--db", str(db), *args], catch_exceptions=False)
        parsed = None
        if "--json" in args:
            try:
                parsed = json.loads(res.stdout)
            except json.JSONDecodeError:
                parsed = None
        return res.exit_code, res.output, parsed

    return run


def count(db: Path, sql: str) -> Any:
    with Store(db) as s:
        return s.query(sql)[0][0]


def parcours_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "parcours.cli", *args]


def run_parcours(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(parcours_cmd(*args), capture_output=True, text=True, **kw)


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A generated world of 4,000 persons imported into a store, built once per test session:
    (store path, folder of the generated Parquet files). Tests must open the store read-only."""
    from parcours.demo import act, build
    from parcours.store import Store

    root = tmp_path_factory.mktemp("demo_world")
    db, world = root / "store.duckdb", root / "world"
    build(db, world, persons=4000)
    with Store(db) as store:  # churn risk scored, the example rules saved (as `parcours demo` does)
        act(store)
    return db, world


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """``parcours serve`` in a subprocess on a free loopback port (a real server over real HTTP)."""

    def __init__(self, db: Path, *options: str) -> None:
        """``options``: more of ``serve``'s options (e-mail: ``--mail-domain``, ``--smtp-port``…)."""
        import time
        import urllib.error
        import urllib.request

        self.db, port = db, free_port()
        self.base = f"http://127.0.0.1:{port}"
        # a file, not a pipe: nobody reads a pipe while the server runs, and a full one blocks it
        self.log = db.with_name(db.name + f".{port}.log")
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(parcours_cmd("--db", str(db), "serve", "--port", str(port), *options),
                                         stdout=out, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/health", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start: " + self.output)

    def stop(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
        self.proc.wait(30)
        self.output = self.log.read_text(errors="replace")


def make_token(db: Path, role: str, name: str | None = None) -> str:
    """A new API token (created with the CLI, as an operator would, before the server starts)."""
    out = run_parcours("--db", str(db), "tokens", "create", name or f"test-{role}", "--role", role, check=True)
    return out.stdout.strip().splitlines()[-1]


# -- browser tests: Debian's chromium driven by Playwright (no browser download) -----------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: marks of a browser test module: skipped without chromium, except in CI (which installs it)
BROWSER_MARKS = [pytest.mark.browser,
                 pytest.mark.skipif(not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
                                    reason="Debian chromium not installed (CI installs it)")]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watch:
    """Console errors, page errors, failed requests and HTTP errors of one page."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # a request the page cancelled itself (htmx drops a poll whose element another swap
        # replaced) is not a failure; refused connections, resets and the like are
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}")
                if "ERR_ABORTED" not in (r.failure or "") else None)
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
