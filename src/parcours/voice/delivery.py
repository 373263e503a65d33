"""Getting survey links to people, and the background work of the voice of the customer.

* **E-mail**: through the desk's relay (``MailSettings``), a short message in the person's
  language with the question, one link per score (they open the page with the score
  chosen; nothing is saved by merely following a link, since mail scanners follow links) and
  a one-click unsubscribe (RFC 8058 ``List-Unsubscribe``). A relay that is down leaves the
  invitation pending for the next round; a refusal for good marks it failed, with the reason.
* **SMS**: the ``voice.survey.sms`` webhook hands the phone number and the text to the SMS
  gateway (the same way the desk's SMS channel works).
* **Widget**: the web site or app asks the API for the person's pending survey
  (``GET /api/v1/surveys/pending``) and shows it; that marks it sent.

:class:`VoiceRunner` does, every few seconds in the served process: invite for due moments,
deliver, analyse comments that arrived by import or API, and open loop cases for recent
unhappy answers. Each step on its own: one failing never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from typing import Any

from parcours.desk.mail import MailError
from parcours.desk.smtp import send
from parcours.store import Store
from parcours.voice import analysis, answers, invitations, loop, tokens
from parcours.voice import surveys as survey_defs
from parcours.voice.model import ContactRules, Survey

__all__ = ["VoiceRunner", "compose", "deliver", "link"]

log = logging.getLogger(__name__)

_TEXT = {
    "fr": {"subject": "Votre avis compte : une question, 30 secondes",
           "hello": "Bonjour,", "intro": "Vous nous avez récemment contactés. Une seule question :",
           "click": "Cliquez sur votre note :", "or": "ou ouvrez ce lien :",
           "stop": "Ne plus recevoir de questionnaires :", "thanks": "Merci de votre aide !",
           "sms": "Votre avis compte : une question, 30 s. {url} (STOP : {stop})", "reminder": "Rappel : "},
    "en": {"subject": "Your opinion counts: one question, 30 seconds",
           "hello": "Hello,", "intro": "You were in touch with us recently. Just one question:",
           "click": "Click your score:", "or": "or open this link:",
           "stop": "No more surveys:", "thanks": "Thank you for your help!",
           "sms": "Your opinion counts: one question, 30 s. {url} (STOP: {stop})", "reminder": "Reminder: "},
}


def link(base_url: str, token: str, score: int | None = None) -> str:
    return f"{base_url.rstrip('/')}/s/{token}" + (f"?score={score}" if score is not None else "")


def compose(survey: Survey, token: str, *, to: str, language: str, base_url: str, from_addr: str,
            domain: str, reminder: bool = False) -> EmailMessage:
    """The invitation e-mail (or its one reminder): text and HTML parts, one link per score,
    one-click unsubscribe."""
    t, q = _TEXT[language], survey.question[language]
    url, stop = link(base_url, token), f"{link(base_url, token)}/stop"
    msg = EmailMessage()
    msg["From"], msg["To"] = from_addr, to
    msg["Subject"] = (t["reminder"] if reminder else "") + t["subject"]
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office answers, please
    msg["List-Unsubscribe"] = f"<{stop}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(f"{t['hello']}\n\n{t['intro']}\n{q}\n\n{t['or']} {url}\n\n{t['thanks']}\n\n{t['stop']} {stop}\n",
                    charset="utf-8", cte="quoted-printable")
    scores = " ".join(f'<a href="{escape(link(base_url, token, s))}" style="display:inline-block;min-width:2em;'
                      f'padding:.4em;margin:.1em;border:1px solid #888;border-radius:4px;text-align:center;'
                      f'text-decoration:none">{s}</a>' for s in range(survey.scale_min, survey.scale_max + 1))
    msg.add_alternative(f"""<!doctype html><html lang="{language}"><body style="font-family:sans-serif">
<p>{escape(t['hello'])}</p><p>{escape(t['intro'])}</p><p><strong>{escape(q)}</strong></p>
<p>{escape(t['click'])}</p><p>{scores}</p><p>{escape(t['or'])} <a href="{escape(url)}">{escape(url)}</a></p>
<p>{escape(t['thanks'])}</p>
<p style="font-size:small">{escape(t['stop'])} <a href="{escape(stop)}">{escape(stop)}</a></p>
</body></html>""", subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def _due(store: Store, channel: str, limit: int) -> list[tuple[Any, ...]]:
    return store.query("""SELECT invitation_id, survey_id, address, language FROM survey_invitations
                          WHERE status = 'pending' AND channel = ? ORDER BY created_at LIMIT ?""", [channel, limit])


def _mark(store: Store, invitation_id: str, status: str, reason: str | None, now: datetime) -> None:
    """A pending invitation sent (or failed); by key only (see answers._write_response)."""
    with store.write_lock, store.transaction() as con:
        row = con.execute("SELECT status FROM survey_invitations WHERE invitation_id = ?", [invitation_id]).fetchone()
        if row is None or row[0] != "pending":
            return
        con.execute("UPDATE survey_invitations SET status = ?, reason = ?, sent_at = CASE WHEN ? = 'sent' THEN ? "
                    "ELSE sent_at END WHERE invitation_id = ?", [status, reason, status, now, invitation_id])


def _outbox(store: Store, channel: str, now: datetime, rules: ContactRules, limit: int) -> list[tuple[Any, ...]]:
    """What to send on ``channel`` this round: (invitation, survey, address, language, is a reminder).
    First the pending invitations, then the one reminder of those sent at least
    ``rules.remind_after`` ago and still unopened, unexpired, to a person not on the quiet list."""
    rows = [(*r, False) for r in _due(store, channel, limit)]
    if rules.remind_after is not None:
        rows += [(*r, True) for r in store.query(
            """SELECT invitation_id, survey_id, address, language FROM survey_invitations
               WHERE status = 'sent' AND channel = ? AND opened_at IS NULL AND reminded_at IS NULL
                 AND sent_at <= ? AND (expires_at IS NULL OR expires_at > ?)
                 AND person_id NOT IN (SELECT person_id FROM survey_quiet)
               ORDER BY sent_at LIMIT ?""", [channel, now - rules.remind_after, now, limit])]
    return rows


def _settle(store: Store, invitation_id: str, reminder: bool, now: datetime, counts: dict[str, int],
            refused: str | None = None) -> None:
    """Record an invitation sent (or refused for good), or its reminder: a reminder is tried once,
    refused or not, since the invitation itself went out."""
    if reminder:
        with store.write_lock, store.transaction() as con:
            con.execute("UPDATE survey_invitations SET reminded_at = ? WHERE invitation_id = ? AND status = 'sent' "
                        "AND reminded_at IS NULL", [now, invitation_id])
    else:
        _mark(store, invitation_id, "failed" if refused else "sent", refused, now)
    counts["failed" if refused else "reminded" if reminder else "sent"] += 1


def deliver(store: Store, *, base_url: str, mail: Any = None, webhooks: Any = None,
            now: datetime | None = None, limit: int = 200, rules: ContactRules = ContactRules()) -> dict[str, int]:
    """Send what is pending on e-mail (needs ``mail`` with a relay) and SMS (needs
    ``webhooks``), then the one reminder of invitations left unopened (``rules.remind_after``);
    counts sent, reminded and failed (refused for good by the relay). The widget's wait for the
    app to ask."""
    now = now or datetime.now(timezone.utc)
    key = tokens.link_key(store)
    counts = {"sent": 0, "reminded": 0, "failed": 0}
    defs = {s.survey_id: s for s in survey_defs.listed(store)}
    if mail is not None and mail.relay is not None:
        for inv_id, survey_id, address, lang, reminder in _outbox(store, "email", now, rules, limit):
            try:
                msg = compose(defs[survey_id], tokens.token_for(key, inv_id), to=address, language=lang,
                              base_url=base_url, from_addr=mail.sender, domain=mail.domain, reminder=reminder)
                send(msg, *mail.relay, starttls=mail.relay_tls == "starttls", implicit_tls=mail.relay_tls == "tls",
                     user=mail.relay_user, password=mail.relay_password, timeout=30)
            except MailError as exc:
                if exc.temporary:
                    log.warning("survey %s not sent yet (next round): %s", inv_id, exc.reason)
                    break  # the relay is unwell: stop this round, keep the order
                _settle(store, inv_id, reminder, now, counts, refused=exc.reason)
                continue
            _settle(store, inv_id, reminder, now, counts)
    if webhooks is not None:
        for inv_id, survey_id, address, lang, reminder in _outbox(store, "sms", now, rules, limit):
            url, t = link(base_url, tokens.token_for(key, inv_id)), _TEXT[lang]
            webhooks.emit("voice.survey.sms", {"invitation_id": inv_id, "survey_id": survey_id, "phone": address,
                                               "language": lang, "reminder": reminder,
                                               "text": (t["reminder"] if reminder else "")
                                               + t["sms"].format(url=url, stop=f"{url}/stop")})
            _settle(store, inv_id, reminder, now, counts)
    return counts


def pending_for(store: Store, person_id: str, *, base_url: str, now: datetime | None = None) -> dict[str, Any] | None:
    """The person's oldest pending widget survey (marked sent), for the web site or app to show."""
    now = now or datetime.now(timezone.utc)
    rows = store.query("""SELECT invitation_id, survey_id, language FROM survey_invitations WHERE person_id = ?
                          AND channel = 'widget' AND status IN ('pending', 'sent') AND expires_at > ?
                          ORDER BY created_at LIMIT 1""", [person_id, now])
    if not rows:
        return None
    inv_id, survey_id, lang = rows[0]
    s = survey_defs.get(store, survey_id)
    if s is None:
        return None
    _mark(store, inv_id, "sent", None, now)
    token = tokens.token_for(tokens.link_key(store), inv_id)
    return {"survey_id": survey_id, "metric": s.metric, "question": s.question[lang], "language": lang,
            "scale": [s.scale_min, s.scale_max], "url": link(base_url, token)}


class VoiceRunner:
    """The voice of the customer's background work in the served process (see the module)."""

    def __init__(self, store: Store, *, base_url: str, mail: Any = None, webhooks: Any = None,
                 every_s: float = 15.0, rules: ContactRules = ContactRules()) -> None:
        self.store, self.base_url, self.mail, self.webhooks = store, base_url, mail, webhooks
        self.every_s, self.rules = every_s, rules
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="parcours-voice", daemon=True)
        self.last: dict[str, Any] = {}  #: what the latest round did, for /health

    def start(self) -> VoiceRunner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        try:
            answers.flush_opens(self.store)  # the last seconds' first opens
        except Exception:
            log.exception("voice: could not record the last survey opens")

    def run_once(self, store: Store) -> dict[str, Any]:
        out: dict[str, Any] = {}
        steps: dict[str, Callable[[], Any]] = {
            "opened": lambda: answers.flush_opens(store),
            "invited": lambda: invitations.sweep(store, rules=self.rules),
            "delivered": lambda: deliver(store, base_url=self.base_url, mail=self.mail, webhooks=self.webhooks,
                                         rules=self.rules),
            "analysed": lambda: analysis.analyse_pending(store, limit=analysis.BATCH),
            "loops": lambda: loop.sweep(store),
        }
        for name, step in steps.items():
            try:
                out[name] = step()
            except Exception:
                log.exception("voice: %s failed; next round in %s s", name, self.every_s)
                out[name] = "failed"
        return out

    def _loop(self) -> None:
        view = self.store.cursor()
        try:
            while not self._stop.wait(self.every_s):
                self.last = self.run_once(view)
        finally:
            view.close()
