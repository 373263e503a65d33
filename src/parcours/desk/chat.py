"""The web chat: the FAQ bot first, then a human through a desk case.

A visitor's conversation is held in memory under a random token (their only credential),
and saved after every change in ``chat_sessions`` under the token's SHA-256, so a server
restart (a deploy) does not end it: the next request with the token picks it up where it was.
The bot answers from the knowledge base; on a handoff the visitor is asked for an e-mail
address if none was given, then ``cases.receive(channel="chat")`` opens the case — or links
the chat to the issue already open on another channel (the desk's linking) — with the bot's
summary and the transcript as the first message. From then on every visitor message goes
to that case, and the agents' public replies on chat are read back by polling.

Containment is counted where the metrics read it: each bot conversation whose person is
known (an e-mail given, or a handoff) leaves one ``touchpoints`` row of channel ``chatbot``
(outcome ``resolved`` when the bot answered, replaced by ``transferred`` on a handoff, whose
reason is in ``text``); the process also counts every conversation, anonymous ones included,
for ``/health``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from parcours import persons
from parcours.desk import cases
from parcours.desk.bot import Answer, Bot, Conversation, Courtesy, Handoff, Turn
from parcours.desk.records import _resolve_merged
from parcours.store import Store

__all__ = ["ChatError", "ChatLine", "ChatService", "RateLimited", "UnknownConversation"]

T = TypeVar("T")

MAX_TEXT = 4000
ASK_EMAIL = {"fr": "Pour qu'un conseiller vous réponde, indiquez votre adresse e-mail.",
             "en": "So that an agent can answer you, please give your e-mail address."}
HANDED = {"fr": "Un conseiller a votre demande (dossier {case}) et vous répond ici.",
          "en": "An agent has your request (case {case}) and will answer you here."}


class ChatError(ValueError):
    """A visitor request that cannot be taken as it is; the message says why."""


class UnknownConversation(LookupError):
    """No conversation has this token (forged, or forgotten after ``ttl`` or a restart)."""


class RateLimited(ChatError):
    """Too many requests: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many messages: try again in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class ChatLine:
    """One line of the widget: ``seq`` orders them and is what ``after=`` polls from."""

    seq: int
    author: str  # visitor, bot, agent, system
    text: str
    ts: str
    kind: str | None = None  # answer, handoff, courtesy, ask_email, case
    article_id: str | None = None


@dataclass
class _Chat:
    token: str
    started: float
    chat_id: str = field(default_factory=lambda: secrets.token_hex(8))  #: stored in the desk (never the token)
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    conversation: Conversation = field(default_factory=Conversation)
    lines: list[ChatLine] = field(default_factory=list)
    email: str | None = None
    case_id: str | None = None
    handoff: Handoff | None = None
    counted: bool = False
    agent_seen: set[str] = field(default_factory=set)
    sent: deque[float] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    forgotten: bool = False  #: its person was erased: never saved again


class ChatService:
    """Conversations of the web chat (thread-safe; one per server process).

    ``per_minute`` messages a conversation may send; ``starts_per_minute`` new conversations
    per client address; conversations idle for ``ttl`` seconds are forgotten."""

    def __init__(self, store: Store, *, bot: Bot | None = None, per_minute: int = 20,
                 starts_per_minute: int = 30, ttl: float = 6 * 3600, max_chats: int = 10_000) -> None:
        self.store = store
        self._bot = bot
        self.per_minute, self.starts_per_minute = per_minute, starts_per_minute
        self.ttl, self.max_chats = ttl, max_chats
        self._chats: dict[str, _Chat] = {}
        self._starts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = float("-inf")
        self.counts: Counter[str] = Counter()

    @property
    def bot(self) -> Bot:
        if self._bot is None:  # built on first use (~0.25 s), not at server start
            self._bot = Bot()
        return self._bot

    # -- visitor API -----------------------------------------------------------------------
    def start(self, client: str, language: str | None = None) -> str:
        """A new conversation's token (32 random bytes, URL-safe)."""
        now = time.monotonic()
        with self._lock:
            _limit(self._starts.setdefault(client, deque()), self.starts_per_minute, now)
            self._forget_idle(now)
            if len(self._chats) >= self.max_chats:
                raise RateLimited(60)
            token = secrets.token_urlsafe(32)
            chat = _Chat(token, now)
            if language in ("fr", "en"):
                chat.conversation.language = language
            self._chats[token] = chat
        self.counts["conversations"] += 1  # saved from the visitor's first message on
        return token

    def post(self, token: str, text: str, email: str | None = None) -> list[ChatLine]:
        """The visitor's message; returns the new lines (theirs and the answers)."""
        chat = self._chat(token)
        text = _clean(text)
        if email is not None and email.strip():
            email = self._email(email)
            if email is None:
                raise ChatError("email: not an e-mail address")
        else:
            email = None
        with chat.lock:
            _limit(chat.sent, self.per_minute, time.monotonic())
            if email:
                chat.email = email
            start = len(chat.lines)
            self._line(chat, "visitor", text)
            if chat.case_id is not None:
                self._to_case(chat, text)
            elif chat.handoff is not None:  # waiting for an e-mail address
                if chat.email is None:
                    chat.email = self._email(text)
                self._hand_over(chat)
            else:
                self._ask_bot(chat, text)
            _save(self.store, chat)
            return chat.lines[start:]

    def lines(self, token: str, after: int = 0) -> list[ChatLine]:
        """Lines after ``after`` (the agents' new public replies on chat included)."""
        chat = self._chat(token)
        with chat.lock:
            if chat.case_id is not None and self._agent_replies(chat):
                _save(self.store, chat)
            return [ln for ln in chat.lines if ln.seq > after]

    def state(self, token: str) -> dict[str, Any]:
        chat = self._chat(token)
        return {"case_id": chat.case_id, "waiting_for_email": chat.handoff is not None and chat.case_id is None,
                "language": chat.conversation.language}

    def forget(self, names: set[str]) -> int:
        """Drop the conversations of an erased person (``persons.names``) from memory and
        from the store; how many were dropped."""
        with self._lock:
            gone = [t for t, c in self._chats.items() if c.email is not None and c.email in names]
            for token in gone:
                self._chats.pop(token).forgotten = True
        if gone:
            _on_cursor(self.store, lambda s: _write(s, "DELETE FROM chat_sessions WHERE list_contains(?, token_sha256)",
                                                    [[_digest(t) for t in gone]]))
        return len(gone)

    def stats(self) -> dict[str, Any]:
        """Bot containment for ``/health``: answered, handed over (by reason), conversations."""
        return dict(self.counts)

    # -- inside ----------------------------------------------------------------------------
    def _chat(self, token: str) -> _Chat:
        chat = self._chats.get(token) if isinstance(token, str) else None
        if chat is None and isinstance(token, str) and 20 <= len(token) <= 100:
            chat = _load(self.store, token, self.ttl)  # saved before a restart
            if chat is not None:
                with self._lock:
                    chat = self._chats.setdefault(token, chat)
        if chat is None:
            raise UnknownConversation("unknown or expired conversation: start a new one")
        return chat

    def _email(self, text: str) -> str | None:
        """``text`` as an e-mail address by the importer's identity rules (normalised), else None."""
        if "@" not in text or len(text) > 320:
            return None
        found = _on_cursor(self.store, lambda s: dict(persons.candidates(s, text.strip())))
        return found.get("email")

    def _forget_idle(self, now: float) -> None:
        for token in [t for t, c in self._chats.items() if now - (c.sent[-1] if c.sent else c.started) > self.ttl]:
            del self._chats[token]
        if now - self._swept > 600:  # saved conversations idle past the ttl, every ten minutes at most
            self._swept = now
            cutoff = datetime.now(timezone.utc) - timedelta(seconds=self.ttl)
            _on_cursor(self.store, lambda s: _write(s, "DELETE FROM chat_sessions WHERE updated_at < ?", [cutoff]))
        for client in [k for k, times in self._starts.items() if not times or now - times[-1] > 60]:
            del self._starts[client]

    def _line(self, chat: _Chat, author: str, text: str, kind: str | None = None,
              article_id: str | None = None) -> ChatLine:
        line = ChatLine(len(chat.lines) + 1, author, text, datetime.now(timezone.utc).isoformat(), kind, article_id)
        chat.lines.append(line)
        return line

    def _ask_bot(self, chat: _Chat, text: str) -> None:
        reply = self.bot.answer(chat.conversation.add(text))
        if isinstance(reply, Answer):
            self.counts["bot_answers"] += 1
            if chat.email and not chat.counted:
                self._count(chat, {"email": chat.email}, "resolved", f"answer:{reply.article.id}", None,
                            reply.article.topic)
            self._line(chat, "bot", reply.text, "answer", reply.article.id)
        elif isinstance(reply, Courtesy):
            self._line(chat, "bot", reply.text, "courtesy")
        else:
            chat.handoff = reply
            self.counts["handoffs"] += 1
            self.counts[f"handoff_{reply.reason}"] += 1
            self._line(chat, "bot", reply.text, "handoff")
            self._hand_over(chat)

    def _language(self, chat: _Chat) -> str:
        lang = chat.conversation.language or (chat.handoff.language if chat.handoff else "fr")
        return lang if lang in ASK_EMAIL else "fr"

    def _hand_over(self, chat: _Chat) -> None:
        if chat.email is None:
            self._line(chat, "system", ASK_EMAIL[self._language(chat)], "ask_email")
            return
        assert chat.handoff is not None
        h = chat.handoff
        transcript = "\n".join(f"{'Client' if t.author == 'customer' else 'Bot'} : {t.text}" for t in h.transcript)
        asked = sum(t.author == "customer" for t in chat.conversation.turns)
        later = [ln.text for ln in chat.lines if ln.author == "visitor"][asked:]  # typed while we waited
        body = "\n\n".join(x for x in (h.summary, "Transcription :\n" + transcript, "\n".join(later)) if x)
        got = _on_cursor(self.store, lambda s: cases.receive(
            s, channel="chat", identifiers={"email": chat.email}, text=body, ts=datetime.now(timezone.utc),
            topic=h.topic, language=h.language, external_id=f"chat:{chat.chat_id}:{len(chat.lines)}"))
        chat.case_id = got.case_id
        self._count(chat, {"person_id": got.person_id}, "transferred", f"handoff:{h.reason}", got.case_id, h.topic)
        self._line(chat, "system", HANDED[self._language(chat)].format(case=got.case_id), "case")

    def _to_case(self, chat: _Chat, text: str) -> None:
        got = _on_cursor(self.store, lambda s: cases.receive(
            s, channel="chat", identifiers={"email": chat.email}, text=text, ts=datetime.now(timezone.utc),
            in_reply_to_case=chat.case_id, external_id=f"chat:{chat.chat_id}:{len(chat.lines)}"))
        chat.case_id = got.case_id

    def _agent_replies(self, chat: _Chat) -> bool:
        rows = self.store.cursor()
        try:
            case_id = _resolve_merged(rows.con, chat.case_id or "")
            found = rows.con.execute(
                "SELECT message_id, body FROM messages WHERE case_id = ? AND public AND author IN ('agent', 'bot') "
                "AND channel = 'chat' AND import_id = 'desk' ORDER BY ts, message_id", [case_id]).fetchall()
        finally:
            rows.close()
        new = [(mid, body) for mid, body in found if mid not in chat.agent_seen]
        for mid, body in new:
            chat.agent_seen.add(mid)
            self._line(chat, "agent", body or "", "reply")
        return bool(new)

    def _count(self, chat: _Chat, who: dict[str, str | None], outcome: str, what: str, case_id: str | None,
               topic: str | None) -> None:
        """One ``chatbot`` touchpoint per conversation with a known person (the metrics' containment):
        ``resolved`` when the bot answered, replaced by ``transferred`` if it handed over later;
        dated when the chat started, so the journey reads chatbot → chat (the case's contact)."""
        chat.counted = True
        event_id = f"chatbot:{chat.chat_id}"

        def write(s: Store) -> None:
            with s.write_lock, s.transaction() as con:
                person = who.get("person_id") or persons.ensure(con, who, ts=datetime.now(timezone.utc),
                                                                 source="desk:chatbot").person_id
                con.execute("DELETE FROM touchpoints WHERE event_id = ?", [event_id])
                con.execute("INSERT INTO touchpoints (event_id, ts, person_id, channel, direction, kind, stage, "
                            "topic, case_id, outcome, text, import_id) VALUES (?, ?, ?, 'chatbot', 'inbound', "
                            "'contact', 'support', ?, ?, ?, ?, 'desk')",
                            [event_id, chat.started_at, person, topic, case_id, outcome, what])
            s.touch()

        _on_cursor(self.store, write)


# -- kept across restarts ---------------------------------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _write(store: Store, sql: str, params: list[Any]) -> None:
    with store.write_lock, store.transaction() as con:
        con.execute(sql, params)


def _save(store: Store, chat: _Chat) -> None:
    """Keep the conversation (not the token) so a restart does not end it."""
    if chat.forgotten:
        return
    state = {"started_at": chat.started_at.isoformat(), "email": chat.email, "case_id": chat.case_id,
             "counted": chat.counted, "agent_seen": sorted(chat.agent_seen),
             "lines": [asdict(ln) for ln in chat.lines],
             "conversation": {"language": chat.conversation.language,
                              "turns": [asdict(t) for t in chat.conversation.turns]},
             "handoff": _handoff_state(chat.handoff)}
    _on_cursor(store, lambda s: _write(
        s, "INSERT OR REPLACE INTO chat_sessions VALUES (?, ?, ?, ?)",
        [_digest(chat.token), chat.chat_id, json.dumps(state, ensure_ascii=False), datetime.now(timezone.utc)]))


def _handoff_state(h: Handoff | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {"reason": h.reason, "text": h.text, "language": h.language, "summary": h.summary, "topic": h.topic,
            "confidence": h.confidence, "transcript": [asdict(t) for t in h.transcript]}


def _load(store: Store, token: str, ttl: float) -> _Chat | None:
    """A saved conversation by its token, unless idle for longer than ``ttl`` seconds."""
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=ttl)
    row = _on_cursor(store, lambda s: s.con.execute(
        "SELECT chat_id, state FROM chat_sessions WHERE token_sha256 = ? AND updated_at >= ?",
        [_digest(token), cutoff]).fetchone())
    if row is None:
        return None
    d = json.loads(row[1])
    h = d.get("handoff")
    handoff = None if h is None else Handoff(
        h["reason"], h["text"], h["language"], h["summary"], tuple(Turn(**t) for t in h["transcript"]),
        h.get("topic"), (), h.get("confidence", 0.0))
    conversation = Conversation([Turn(**t) for t in d["conversation"]["turns"]], d["conversation"]["language"],
                                handoff)
    return _Chat(token, time.monotonic(), chat_id=row[0], started_at=datetime.fromisoformat(d["started_at"]),
                 conversation=conversation, lines=[ChatLine(**ln) for ln in d["lines"]], email=d["email"],
                 case_id=d["case_id"], handoff=handoff, counted=d["counted"],
                 agent_seen=set(d["agent_seen"]))


def _on_cursor(store: Store, work: Callable[[Store], T]) -> T:
    """Run ``work`` on a connection of this thread's own (DuckDB connections are per thread)."""
    cur = store.cursor()
    try:
        return work(cur)
    finally:
        cur.close()


def _clean(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ChatError("text: write a message")
    if len(text) > MAX_TEXT:
        raise ChatError(f"text: at most {MAX_TEXT} characters")
    return text.strip()


def _limit(times: deque[float], per_minute: int, now: float) -> None:
    while times and now - times[0] > 60:
        times.popleft()
    if len(times) >= per_minute:
        raise RateLimited(60 - (now - times[0]))
    times.append(now)
