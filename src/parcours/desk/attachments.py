"""Attachments: checked, stored beside the store file by SHA-256, read back verified."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from parcours.desk.errors import DeskError, NotFoundError
from parcours.desk.model import AttachmentIn, AttachmentInfo, RefusedIn
from parcours.desk.records import _new_id
from parcours.store import Store

MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENTS = 20
#: accepted attachment types (prefixes); others are refused (the message is kept, the refusal shown)
CONTENT_TYPES = ("image/", "audio/", "video/", "text/plain", "text/csv", "application/pdf", "message/rfc822",
                 "application/zip", "application/msword", "application/vnd.openxmlformats-officedocument.",
                 "application/vnd.oasis.opendocument.", "application/vnd.ms-excel", "application/rtf")
_EXECUTABLE = re.compile(r"\.(exe|bat|cmd|com|scr|pif|js|jse|vbs|vbe|wsf|msi|ps1|jar|dll|sh|apk|app|lnk|hta)$", re.I)
_MAGIC_EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
#: a media type as RFC 6838 writes it (type/subtype, no parameters): nothing else is stored or served
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


# -- attachments --------------------------------------------------------------------------
def attachments_dir(store: Store) -> Path:
    """Where attachment files live: beside the store file, one file per content (SHA-256)."""
    return store.path.with_name(store.path.name + ".attachments")


def _safe_filename(name: str) -> str:
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:200] or "attachment"


def _refusal(filename: str, content_type: str, data: bytes) -> str | None:
    if len(data) > MAX_ATTACHMENT_BYTES:
        return f"{len(data):,} bytes, over the limit of {MAX_ATTACHMENT_BYTES:,}"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not MEDIA_TYPE.fullmatch(ctype):
        return f"content type {ctype[:100] or 'unknown'!r} is not a media type (type/subtype)"
    if not any(ctype.startswith(p) for p in CONTENT_TYPES):
        return f"content type {ctype or 'unknown'!r} is not accepted"
    if _EXECUTABLE.search(filename) or data.startswith(_MAGIC_EXECUTABLE):
        return "executable files are not accepted"
    return None


def check_uploads(files: Sequence[AttachmentIn]) -> None:
    """Refuse an agent's files that would not be kept, each with its reason. A customer's
    refused file is recorded as refused (their message must not be lost); an agent can fix
    the file and send again, so theirs is an error before anything is written."""
    if len(files) > MAX_ATTACHMENTS:
        raise DeskError(f"{len(files)} attachments; the limit is {MAX_ATTACHMENTS} a message")
    problems = [f"{_safe_filename(f.filename)!r}: {why}" for f in files
                if (why := _refusal(_safe_filename(f.filename), f.content_type or "", f.data))]
    if problems:
        raise DeskError("attachment refused, nothing was sent — " + "; ".join(problems))


def _store_attachments(store: Store, con: duckdb.DuckDBPyConnection, message_id: str,
                       files: Sequence[AttachmentIn | RefusedIn], ts: datetime) -> tuple[AttachmentInfo, ...]:
    if len(files) > MAX_ATTACHMENTS:
        raise DeskError(f"{len(files)} attachments; the limit is {MAX_ATTACHMENTS} a message")
    out = []
    for f in files:
        name, given = _safe_filename(f.filename), (f.content_type or "").split(";")[0].strip().lower() or None
        # a type that is no media type is refused below and stored as octet-stream: never echoed as a header
        ctype = given if given is None or MEDIA_TYPE.fullmatch(given) else "application/octet-stream"
        data: bytes | None = getattr(f, "data", None)
        reason: str | None
        digest: str | None = None
        rel: str | None = None
        if data is None:
            reason, size = str(getattr(f, "reason", "refused")), int(getattr(f, "size", 0))
        else:
            reason, size = _refusal(name, given or "", data), len(data)
            digest = hashlib.sha256(data).hexdigest() if reason is None else None
            rel = f"{digest[:2]}/{digest}" if digest else None
            if rel:
                _write_file(attachments_dir(store) / rel, data)
        info = AttachmentInfo(_new_id("A"), message_id, name, ctype, size, digest, rel, reason)
        con.execute("INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [info.attachment_id, message_id, name, ctype, size, digest, rel, reason, ts])
        out.append(info)
    return tuple(out)


def _write_file(path: Path, data: bytes) -> None:
    if path.exists():  # content-addressed: the same bytes are already there
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def attachment_bytes(store: Store, attachment_id: str) -> tuple[AttachmentInfo, bytes]:
    """An attachment and its content (checked against its SHA-256)."""
    row = store.con.execute("SELECT attachment_id, message_id, filename, content_type, size, sha256, storage_path, "
                            "refused FROM attachments WHERE attachment_id = ?", [attachment_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no attachment {attachment_id!r}")
    info = AttachmentInfo(*row)
    if info.storage_path is None:
        raise DeskError(f"attachment {info.filename!r} was refused ({info.refused}): there is no file")
    try:
        data = (attachments_dir(store) / info.storage_path).read_bytes()
    except OSError as e:
        raise DeskError(f"attachment {info.filename!r}: the stored file cannot be read ({e.strerror})") from e
    if hashlib.sha256(data).hexdigest() != info.sha256:
        raise DeskError(f"attachment {info.filename!r}: the stored file does not match its SHA-256")
    return info, data
