"""Who may do what: users (web app), API tokens, roles, sessions, and the audit log.

Four roles, from the most to the least trusted:

* ``admin``   — everything, including users, tokens, webhooks and erasure;
* ``analyst`` — dashboards, metrics, exports and customer 360 (read only);
* ``agent``   — the service desk (cases, replies), customer 360 and merging duplicate persons;
* ``ingest``  — sends touchpoints, orders, answers and channel messages, nothing else (for other systems).

Passwords are hashed with Argon2id (argon2-cffi, OWASP's first choice). API tokens are
256-bit random secrets shown once; only their SHA-256 is stored — a slow hash protects
guessable secrets, and these are not guessable.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from parcours.store import Store

ROLES = ("admin", "analyst", "agent", "ingest")

#: permission → roles that hold it (the role matrix test walks this table)
PERMISSIONS: dict[str, frozenset[str]] = {
    "ingest": frozenset({"admin", "ingest"}),
    "metrics": frozenset({"admin", "analyst"}),
    "persons.read": frozenset({"admin", "analyst", "agent"}),
    "persons.merge": frozenset({"admin", "agent"}),
    "persons.erase": frozenset({"admin"}),
    "desk": frozenset({"admin", "agent"}),          # work cases: inbox, replies, notes, assignment
    "desk.admin": frozenset({"admin"}),             # teams, agents, SLA policies
    "voice": frozenset({"admin", "analyst"}),       # surveys on and off, problems (the outer loop)
    "act": frozenset({"admin", "analyst"}),         # rules, outreach, churn models, maturity, what-if
    "admin": frozenset({"admin"}),
}

SESSION_HOURS = 12
TOKEN_PREFIX = "pcs_"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class AuthError(ValueError):
    """A user or token cannot be created or used as asked (the message says why)."""


@dataclass(frozen=True)
class Principal:
    """Whoever makes a request: a logged-in user or an API token."""

    kind: str          # "user" or "token"
    id: str
    name: str
    role: str

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]

    @property
    def label(self) -> str:
        """How the audit log names them."""
        return f"{self.kind}:{self.name}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")


class _Recent:
    """Credentials found valid in the last seconds: an API call then costs no query (a point
    query costs ~2 ms on DuckDB, most of a single event's budget). Unknown secrets are never
    kept (guessing must not fill memory), and whatever withdraws a right — revoking a token,
    logging out — forgets everything: all such writes go through this process, which holds
    the store's file lock."""

    def __init__(self, seconds: float = 30.0, size: int = 10_000) -> None:
        self.seconds, self.size = seconds, size
        self._found: dict[tuple[str, str], tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[bool, Principal | None]:
        hit = self._found.get(key)
        if hit is None or hit[0] <= time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: tuple[str, str], who: Principal, valid_s: float = float("inf")) -> None:
        with self._lock:
            if len(self._found) >= self.size:
                self._found.clear()
            self._found[key] = (time.monotonic() + min(self.seconds, valid_s), who)

    def clear(self) -> None:
        with self._lock:
            self._found.clear()


RECENT = _Recent()


def recent(kind: str, secret: str) -> tuple[bool, Principal | None]:
    """(True, who) when this ``kind`` of secret ("token", "session") was found valid lately."""
    return RECENT.get((kind, _sha256(secret)))


# -- users -------------------------------------------------------------------------------
def add_user(store: Store, email: str, password: str, role: str, *, name: str | None = None,
             lang: str | None = None, by: str = "cli") -> str:
    """Create a user; returns the user id. Passwords need 10 characters or more."""
    email = email.strip().lower()
    _check_role(role)
    if not _EMAIL.fullmatch(email):
        raise AuthError(f"{email!r} is not an e-mail address")
    if len(password) < 10:
        raise AuthError("the password needs at least 10 characters")
    if store.query("SELECT 1 FROM users WHERE email = ?", [email]):
        raise AuthError(f"a user {email} already exists")
    uid = "u_" + uuid.uuid4().hex[:12]
    with store.write_lock:
        store.con.execute("INSERT INTO users (user_id, email, name, role, password_hash, lang, created_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)",
                          [uid, email, name or email.split("@")[0], role, _hasher().hash(password), lang, _now()])
    audit(store, by, "user.add", uid, {"email": email, "role": role})
    return uid


def list_users(store: Store) -> list[dict[str, Any]]:
    keys = ("user_id", "email", "name", "role", "created_at", "last_login_at", "disabled_at")
    return [dict(zip(keys, r)) for r in store.query(f"SELECT {', '.join(keys)} FROM users ORDER BY email")]


def check_password(store: Store, email: str, password: str) -> Principal | None:
    """The user if the password is right (and the user enabled), else None."""
    from argon2.exceptions import InvalidHashError, VerificationError

    row = store.query("SELECT user_id, name, role, password_hash FROM users WHERE email = ? AND disabled_at IS NULL",
                      [email.strip().lower()])
    if not row:
        _hasher().hash(password)  # the same work either way: no timing hint that the e-mail exists
        return None
    uid, name, role, h = row[0]
    try:
        _hasher().verify(h, password)
    except (VerificationError, InvalidHashError):
        return None
    return Principal("user", uid, name, role)


# -- sessions ----------------------------------------------------------------------------
def open_session(store: Store, user: Principal) -> str:
    """A new session for a user who just logged in; returns the cookie's secret."""
    secret = secrets.token_urlsafe(32)
    now = _now()
    with store.write_lock:
        store.con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                          [_sha256(secret), user.id, now, now + timedelta(hours=SESSION_HOURS)])
        store.con.execute("UPDATE users SET last_login_at = ? WHERE user_id = ?", [now, user.id])
    return secret


def session_user(store: Store, secret: str) -> Principal | None:
    key = ("session", _sha256(secret))
    found, who = RECENT.get(key)
    if found:
        return who
    row = store.query("""SELECT u.user_id, u.name, u.role, s.expires_at FROM sessions s JOIN users u USING (user_id)
                         WHERE s.session_sha256 = ? AND s.expires_at > now() AND u.disabled_at IS NULL""",
                      [key[1]])
    if not row:
        return None
    *user, expires = row[0]
    RECENT.put(key, Principal("user", *user), (expires - _now()).total_seconds())
    return Principal("user", *user)


def close_session(store: Store, secret: str) -> None:
    with store.write_lock:
        store.con.execute("DELETE FROM sessions WHERE session_sha256 = ? OR expires_at <= now()", [_sha256(secret)])
    RECENT.clear()


# -- API tokens --------------------------------------------------------------------------
def create_token(store: Store, name: str, role: str, *, created_by: str = "cli") -> tuple[str, str]:
    """A new API token; returns (token id, the secret). The secret is not stored: show it once."""
    _check_role(role)
    if not name.strip():
        raise AuthError("a token needs a name (what uses it)")
    token_id = "t_" + uuid.uuid4().hex[:12]
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.write_lock:
        store.con.execute("INSERT INTO api_tokens (token_id, name, role, token_sha256, created_at, created_by) "
                          "VALUES (?, ?, ?, ?, ?, ?)", [token_id, name.strip(), role, _sha256(secret), _now(),
                                                         created_by])
    audit(store, created_by, "token.create", token_id, {"name": name, "role": role})
    return token_id, secret


def token_principal(store: Store, secret: str) -> Principal | None:
    key = ("token", _sha256(secret))
    found, who = RECENT.get(key)
    if found:
        return who
    row = store.query("SELECT token_id, name, role FROM api_tokens WHERE token_sha256 = ? AND revoked_at IS NULL",
                      [key[1]])
    if not row:
        return None
    RECENT.put(key, Principal("token", *row[0]))
    return Principal("token", *row[0])


def list_tokens(store: Store) -> list[dict[str, Any]]:
    keys = ("token_id", "name", "role", "created_at", "created_by", "revoked_at")
    return [dict(zip(keys, r)) for r in store.query(f"SELECT {', '.join(keys)} FROM api_tokens ORDER BY created_at")]


def revoke_token(store: Store, token_id: str, *, by: str = "cli") -> bool:
    with store.write_lock:
        n = store.con.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL "
                              "RETURNING 1", [_now(), token_id]).fetchall()
    if n:
        RECENT.clear()
        audit(store, by, "token.revoke", token_id, {})
    return bool(n)


# -- audit -------------------------------------------------------------------------------
def audit(store: Store, actor: str, action: str, target: str | None, detail: dict[str, Any]) -> None:
    """Record who did what to which record (merges, erasures, tokens, users)."""
    with store.write_lock:
        store.con.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)",
                          [uuid.uuid4().hex[:16], _now(), actor, action, target, json.dumps(detail, default=str)])
