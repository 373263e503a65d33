"""Survey links that cannot be guessed, forged or replayed.

A token is an invitation's id (16 random bytes) and an HMAC-SHA256 of it under the store's
own secret (``store_secrets``, made by migration 6), base64url: nobody can enumerate 128
random bits, and nobody without the secret can sign one. The signature is checked before
the store is asked, so a forged or mistyped link costs no query. The token itself is never
stored: the server signs the id again whenever it sends the link (a retry, the widget). Expiry and single use live
on the invitation row (``answers.open_link``).

>>> key = b"k" * 32
>>> t = token_for(key, "00112233445566778899aabbccddeeff")
>>> invitation_of(key, t)
'00112233445566778899aabbccddeeff'
>>> invitation_of(key, t[:-2] + ("AA" if t[-2:] != "AA" else "BB")) is None
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from parcours.store import Store

__all__ = ["invitation_of", "link_key", "token_for"]

_ID, _MAC = 16, 16
_LENGTH = 43  # base64url of 32 bytes, unpadded


def _mac(key: bytes, raw_id: bytes) -> bytes:
    return hmac.new(key, b"survey-link:" + raw_id, hashlib.sha256).digest()[:_MAC]


def token_for(key: bytes, invitation_id: str) -> str:
    raw = bytes.fromhex(invitation_id)
    return base64.urlsafe_b64encode(raw + _mac(key, raw)).rstrip(b"=").decode()


def invitation_of(key: bytes, token: str) -> str | None:
    """The invitation id a genuine token carries; None for anything else (constant-time check)."""
    if not isinstance(token, str) or len(token) != _LENGTH or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except ValueError:
        return None
    rid, mac = raw[:_ID], raw[_ID:]
    if len(rid) != _ID or not hmac.compare_digest(mac, _mac(key, rid)):
        return None
    return rid.hex()


def link_key(store: Store) -> bytes:
    """The store's survey-link secret (read once per store: it never changes)."""
    key = store.memo.get("survey_link_key")
    if key is None:
        row = store.query("SELECT value FROM store_secrets WHERE name = 'survey_links'")
        key = store.memo["survey_link_key"] = bytes.fromhex(row[0][0])
    return key
