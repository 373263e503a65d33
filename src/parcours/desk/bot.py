"""The FAQ bot: answers from the knowledge base when it is sure, hands over to a human when not.

Seed 004: customers want an immediate answer, and a human when it matters. The bot answers
a question with one article, in the customer's language, when the search's confidence
reaches a threshold; otherwise, or when the customer asks for a person, or writes about a
complaint, a lawyer or an injury, or says twice that the answers did not help, it hands over
with the transcript and a short summary, so that the agent does not ask again (seed 003).

>>> bot = Bot()
>>> chat = Conversation()
>>> reply = bot.answer(chat.add("Bonjour, j'ai oublié mon mot de passe"))
>>> type(reply).__name__, reply.article.id, reply.language
('Answer', 'mot-de-passe-connexion', 'fr')
>>> bot.answer(chat.add("human please")).reason
'asked_for_human'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from parcours.desk.kb import Article, KnowledgeBase, Search
from parcours.text.language import fold, language_scores, terms

__all__ = ["THRESHOLD", "Answer", "Bot", "Conversation", "Courtesy", "Handoff", "HandoffReason", "Reply",
           "Turn"]

#: Confidence under which the bot hands over (see docs/bot.md for how it was chosen).
THRESHOLD = 0.6
#: Answers the customer said did not help, after which a human takes over.
MAX_FAILURES = 2
#: Confidence under which a handoff suggests no article to the agent (they would be noise).
SUGGESTION_FLOOR = 0.25

HandoffReason = Literal["low_confidence", "asked_for_human", "repeated_failure", "sensitive"]
TurnKind = Literal["question", "not_helped", "courtesy", "asked_for_human", "sensitive", "answer", "handoff"]


@dataclass(frozen=True)
class Turn:
    """One message of the conversation, with what the bot made of it."""

    author: Literal["customer", "bot"]
    text: str
    kind: TurnKind | None = None
    article_id: str | None = None
    confidence: float | None = None
    query: str | None = None


@dataclass(frozen=True)
class Answer:
    """An article sent to the customer, in their language."""

    article: Article
    confidence: float
    text: str
    language: str
    alternatives: tuple[Article, ...] = ()
    query: str = ""


@dataclass(frozen=True)
class Handoff:
    """The conversation passed to a human, with what the agent needs not to ask twice."""

    reason: HandoffReason
    text: str
    language: str
    summary: str
    transcript: tuple[Turn, ...]
    topic: str | None = None
    suggestions: tuple[Article, ...] = ()
    confidence: float = 0.0


@dataclass(frozen=True)
class Courtesy:
    """A greeting or a thank-you answered in kind ("anything else I can do?", seed 003)."""

    kind: Literal["greeting", "thanks"]
    text: str
    language: str


Reply = Answer | Handoff | Courtesy


@dataclass
class Conversation:
    """The turns of one chat: the bot's memory of what it said and what the customer thought."""

    turns: list[Turn] = field(default_factory=list)
    language: str | None = None
    handoff: Handoff | None = None

    def add(self, text: str) -> Conversation:
        """Record what the customer wrote; returns the conversation for ``bot.answer(c.add(…))``."""
        self.turns.append(Turn("customer", text))
        return self

    @property
    def failures(self) -> int:
        """How many answers the customer said did not help."""
        return sum(t.kind == "not_helped" for t in self.turns)

    @property
    def given(self) -> tuple[str, ...]:
        """Ids of the articles already sent, oldest first."""
        return tuple(t.article_id for t in self.turns if t.kind == "answer" and t.article_id)

    def last_bot_turn(self) -> Turn | None:
        """The bot's latest message before the customer's latest one."""
        return next((t for t in reversed(self.turns[:-1]) if t.author == "bot"), None)

    def questions(self) -> list[str]:
        """What the customer asked, oldest first."""
        return [t.text for t in self.turns if t.kind == "question"]


# --- what the customer means -------------------------------------------------------------------
# Patterns read folded text (no accents, lower case) with apostrophes turned into spaces.

_HUMAN = {
    "fr": (
        r"\b(parler|discuter|joindre|contacter|relation|transferer)\b.{0,30}"
        r"\b(conseill\w*|humain\w*|agent|operat\w*|quelqu un|personne|vendeu\w*)\b",
        r"\b(un|une|le|la|des|vrai|vraie|veritable)\s+(conseiller|conseillere|humain|operateur|operatrice|agent)\b",
        r"\b(vraie?|etre) (personne|humain)\b",
        r"^\W*(conseiller|conseillere|humain|agent|operateur)\W*(svp|stp|s il vous plait|please)?\W*$",
        r"\b(pas|marre|assez)\b.{0,15}\b(robot|bot|chatbot)\b",
    ),
    "en": (
        r"\b(speak|talk|chat|connect|transfer|put me through)\b.{0,30}"
        r"\b(human|person|someone|somebody|agent|advisor|adviser|representative|rep|operator|staff|manager)\b",
        r"\b(real|live|actual)\s+(human|person|agent|advisor|adviser|representative|operator)\b",
        r"\b(a|an)\s+(human|agent|advisor|adviser|representative|operator)\b",
        r"^\W*(human|agent|operator|representative|advisor|person)\W*(please|pls|plz|now)?\W*$",
        r"\b(not|no more|stop|tired of|fed up)\b.{0,15}\b(bot|robot|chatbot)\b",
    ),
}
_SENSITIVE = {
    "fr": (
        r"\b(plainte|reclamation|avocat|tribunal|justice|juridique|proces|mise en demeure|litige|mediateur"
        r"|dgccrf|ufc|que choisir|60 millions|arnaque\w*|escro\w*|voleur\w*|fraud\w*|harcel\w*|menace\w*"
        r"|discrimin\w*|diffam\w*|blesse\w*|blessure|brule\w*|brulure|incendie|pris feu|explose|fumee"
        r"|electrocut\w*|intoxi\w*|dangereu\w*|pirate|piratage)\b",
    ),
    "en": (
        r"\b(complaint|complain\w*|lawyer|solicitor|attorney|sue|suing|lawsuit|court|legal action"
        r"|trading standards|ombudsman|small claims|scam\w*|fraud\w*|thie(f|ves)|harass\w*|threat\w*"
        r"|discriminat\w*|injur\w*|burn\w*|fire|smoke|explod\w*|electric shock|dangerous|unsafe|chargeback"
        r"|hacked)\b",
    ),
}
_NOT_HELPED = {
    "fr": (
        r"\b(aide|aider|aid\w*|repond\w*|utile|marche|fonctionne|resolu)\w* pas\b",
        r"\bpas (aide|utile|ma question|ce que|ca|du tout|repondu|resolu|la bonne)\b",
        r"\b(inutile|rien a voir|bof|nul|hors sujet|a cote)\b",
        r"\btoujours pas\b",
        r"^\W*(non|nan|no)\W*$",
        r"^\W*(non|nan)\b(\s*[,.!]|\s+(je|c est|ce n est|pas|ca))",
    ),
    "en": (
        r"\b(didn t|did not|doesn t|does not|don t|not|no|wasn t|isn t)\s+(help\w*|answer\w*|work\w*|relevant)\b",
        r"\b(unhelpful|useless|irrelevant|wrong answer|not what i|not my question|not it|not really)\b",
        r"\bstill (not|doesn t|don t|can t|isn t|nothing|no)\b",
        r"^\W*(no|nope|nah|non)\W*$",
        r"^\W*(no|nope)\b(\s*[,.!]|\s+(i|that|it))",
    ),
}
_COURTESY_WORDS = frozenset(
    "merci parfait super top genial ok oui accord nickel revoir bonne journee soiree coucou marche cool "
    "great perfect okay yes bye cheers helped works worked good day awesome brilliant fine nice sorted "
    "helpful".split())
_GREETING_WORDS = frozenset("bonjour bonsoir salut coucou hello hi hey slt bjr".split())
_FEEDBACK_WORDS = frozenset(
    "aide aider aidee utile inutile marche fonctionne repond repondu reponse question rien voir bof nul resolu "
    "sujet cote help helped helpful unhelpful useless answer answered work worked working relevant irrelevant "
    "wrong nothing nope nah really".split())


def _matches(patterns: Mapping[str, tuple[str, ...]], text: str, language: str) -> bool:
    """Whether the folded text matches one of the language's patterns."""
    folded = fold(text).replace("'", " ")
    return any(re.search(p, folded) for p in patterns[language])


def _courtesy(text: str, language: str) -> Literal["greeting", "thanks"] | None:
    """"greeting" or "thanks" when the message is only that (no question in it)."""
    words = fold(text).replace("'", " ").split()
    content = [w for w in terms(text, language) if w not in _COURTESY_WORDS]
    if content or not words:
        return None
    return "greeting" if any(w.strip("!,.?") in _GREETING_WORDS for w in words) else "thanks"


# --- what the bot says -------------------------------------------------------------------------

_SAY = {
    "fr": {
        "check": "Cette réponse vous aide-t-elle ?",
        "greeting": "Bonjour ! Posez-moi votre question : commande, livraison, retour, paiement, compte, "
                    "fidélité, produits…",
        "thanks": "Avec plaisir ! Puis-je faire autre chose pour vous ?",
        "low_confidence": "Je ne suis pas sûr d'avoir bien compris : je vous mets en relation avec un conseiller, "
                          "qui voit notre échange.",
        "asked_for_human": "Bien sûr, je vous mets en relation avec un conseiller. Il voit notre échange : "
                           "inutile de tout répéter.",
        "repeated_failure": "Désolé de ne pas avoir trouvé la bonne réponse. Un conseiller prend le relais, "
                            "avec notre échange.",
        "sensitive": "Votre demande mérite l'attention d'un conseiller : je lui transmets notre échange, "
                     "il vous répond au plus vite.",
    },
    "en": {
        "check": "Did this answer your question?",
        "greeting": "Hello! Ask me your question: orders, delivery, returns, payment, account, loyalty, "
                    "products…",
        "thanks": "You're welcome! Is there anything else I can do for you?",
        "low_confidence": "I'm not sure I understood: let me put you through to an advisor, who can see our "
                          "conversation.",
        "asked_for_human": "Of course, let me put you through to an advisor. They can see our conversation, so "
                           "you won't have to repeat anything.",
        "repeated_failure": "Sorry I couldn't find the right answer. An advisor is taking over, with our "
                            "conversation.",
        "sensitive": "Your request deserves an advisor's attention: I'm passing our conversation on, and they "
                     "will reply as soon as possible.",
    },
}
_SUMMARY = {
    "fr": {
        "head": "Transfert du bot ({reason}). Client en {language}.",
        "asked": "Demande : « {text} ».",
        "last": "Dernier message : « {text} ».",
        "tried": "Articles déjà proposés : {titles}.",
        "failures": "Réponses jugées inutiles : {n}.",
        "topic": "Sujet probable : {topic}.",
        "low_confidence": "question non reconnue",
        "asked_for_human": "demande un conseiller",
        "repeated_failure": "réponses inutiles",
        "sensitive": "sujet sensible",
        "fr": "français",
        "en": "anglais",
    },
    "en": {
        "head": "Bot handoff ({reason}). Customer writes in {language}.",
        "asked": "Asked: \u201c{text}\u201d.",
        "last": "Last message: \u201c{text}\u201d.",
        "tried": "Articles already sent: {titles}.",
        "failures": "Answers found unhelpful: {n}.",
        "topic": "Likely topic: {topic}.",
        "low_confidence": "question not recognised",
        "asked_for_human": "asked for an advisor",
        "repeated_failure": "unhelpful answers",
        "sensitive": "sensitive matter",
        "fr": "French",
        "en": "English",
    },
}


def _clip(text: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# --- the bot -----------------------------------------------------------------------------------


class Bot:
    """Answers a conversation's latest message, or hands it over to a human."""

    def __init__(self, kb: KnowledgeBase | None = None, threshold: float = THRESHOLD,
                 default_language: str = "fr", agent_language: str = "fr") -> None:
        self.kb = kb if kb is not None else KnowledgeBase.shipped()
        self.threshold = threshold
        self.default_language = default_language
        self.agent_language = agent_language

    def reply(self, text: str) -> Reply:
        """Answer one message out of any conversation (benchmarks, one-shot channels)."""
        return self.answer(Conversation().add(text))

    def answer(self, conversation: Conversation) -> Reply:
        """Reply to the customer's latest turn, and record the reply in the conversation.

        Once handed over, the bot stays out: the handoff is returned again, nothing is added.
        """
        if not conversation.turns or conversation.turns[-1].author != "customer":
            raise ValueError("the conversation's last turn must be the customer's")
        if conversation.handoff is not None:
            return conversation.handoff
        text = conversation.turns[-1].text
        language = conversation.language = self.language_of(text, conversation)
        kind = self._classify(conversation, text, language)
        conversation.turns[-1] = replace(conversation.turns[-1], kind=kind)
        return self._record(conversation, self._respond(conversation, kind, text, language))

    def language_of(self, text: str, conversation: Conversation | None = None) -> str:
        """The message's language among the base's; when it shows none, the conversation's,
        else the one whose articles know more of its words ("remboursement ?"), else the default."""
        languages = self.kb.languages
        if len(languages) == 1:
            return languages[0]
        scores = language_scores(text)
        ranked = sorted(languages, key=lambda lang: -scores.get(lang, 0.0))
        if scores.get(ranked[0], 0.0) > scores.get(ranked[1], 0.0):
            return ranked[0]
        if conversation is not None and conversation.language in languages:
            return conversation.language
        known = {lang: self.kb.known_share(text, lang) for lang in languages}
        ranked = sorted(languages, key=lambda lang: -known[lang])
        if known[ranked[0]] > known[ranked[1]]:
            return ranked[0]
        return self.default_language if self.default_language in languages else languages[0]

    def search(self, text: str, language: str, exclude: tuple[str, ...] = ()) -> Search:
        """The knowledge base's search in the customer's language, without the articles
        already sent in this conversation."""
        return self.kb.search(text, language, exclude=exclude)

    def _classify(self, conversation: Conversation, text: str, language: str) -> TurnKind:
        """What the message is, in order of precedence: a request for a human, a sensitive
        matter, feedback on the last answer, a greeting or thanks, else a question."""
        if _matches(_HUMAN, text, language):
            return "asked_for_human"
        if _matches(_SENSITIVE, text, language):
            return "sensitive"
        last = conversation.last_bot_turn()
        if last is not None and last.kind == "answer" and _matches(_NOT_HELPED, text, language):
            return "not_helped"
        return "courtesy" if _courtesy(text, language) is not None else "question"

    def _respond(self, conversation: Conversation, kind: TurnKind, text: str, language: str) -> Reply:
        """The reply a message of this kind calls for."""
        if kind == "asked_for_human" or kind == "sensitive":
            return self._handoff(conversation, kind, language)
        if kind == "not_helped":
            return self._after_failure(conversation, text, language)
        courtesy = _courtesy(text, language)
        if courtesy is not None:
            return Courtesy(courtesy, _SAY[language][courtesy], language)
        return self._search_reply(conversation, text, language)

    def _after_failure(self, conversation: Conversation, text: str, language: str) -> Reply:
        """After "that did not help": a human once answers failed ``MAX_FAILURES`` times; before,
        another article — for what the customer just added if they said more ("no, I meant
        the refund"), else the next best one for the same question."""
        if conversation.failures >= MAX_FAILURES:
            return self._handoff(conversation, "repeated_failure", language)
        last = conversation.last_bot_turn()
        said_more = [w for w in terms(text, language) if w not in _FEEDBACK_WORDS]
        previous = last.query if last is not None and last.query else text
        return self._search_reply(conversation, text if said_more else previous, language)

    def _search_reply(self, conversation: Conversation, query: str, language: str) -> Reply:
        """An answer when the search is sure enough, else a handoff for low confidence."""
        found = self.search(query, language, exclude=conversation.given)
        if found.best is None or found.confidence < self.threshold:
            return self._handoff(conversation, "low_confidence", language, found)
        article = self.kb.in_language(found.best.article, language)
        others = tuple(self.kb.in_language(h.article, language) for h in found.hits[1:])
        text = f"{article.text}\n\n{_SAY[language]['check']}"
        return Answer(article, found.confidence, text, language, others, query)

    def _handoff(self, conversation: Conversation, reason: HandoffReason, language: str,
                 found: Search | None = None) -> Handoff:
        """A handoff with a summary, the likely topic (for routing) and the articles an agent may
        send, not those already sent (the transcript is attached once the bot's turn is recorded)."""
        issue = found or self.kb.search(self._issue(conversation), language)
        sure = issue.best is not None and issue.confidence >= self.threshold
        topic = issue.best.article.topic if sure and issue.best is not None else None
        if found is None:
            found = self.kb.search(self._issue(conversation), language, exclude=conversation.given)
        suggestions = tuple(self.kb.in_language(h.article, language) for h in found.hits
                            if found.confidence >= SUGGESTION_FLOOR)
        summary = self._summary(conversation, reason, language, topic)
        return Handoff(reason, _SAY[language][reason], language, summary, (), topic, suggestions, found.confidence)

    @staticmethod
    def _issue(conversation: Conversation) -> str:
        """What the customer needs help with: the message itself when it is a question or a
        sensitive matter, else their latest question ("I want an advisor" says nothing of it)."""
        last = conversation.turns[-1]
        questions = conversation.questions()
        return last.text if last.kind in ("question", "sensitive") or not questions else questions[-1]

    def _summary(self, conversation: Conversation, reason: HandoffReason, language: str, topic: str | None) -> str:
        """A few lines an agent reads before writing, in the agent's language."""
        say = _SUMMARY[self.agent_language]
        text = conversation.turns[-1].text
        first = next(iter(conversation.questions()), text)
        lines = [say["head"].format(reason=say[reason], language=say[language]),
                 say["asked"].format(text=_clip(first))]
        if text != first:
            lines.append(say["last"].format(text=_clip(text)))
        if conversation.given:
            titles = "; ".join(self.kb.in_language(self.kb.get(i), self.agent_language).title
                               for i in conversation.given)
            lines.append(say["tried"].format(titles=titles))
        if conversation.failures:
            lines.append(say["failures"].format(n=conversation.failures))
        if topic is not None:
            lines.append(say["topic"].format(topic=topic))
        return "\n".join(lines)

    def _record(self, conversation: Conversation, reply: Reply) -> Reply:
        """Append the bot's turn; a handoff takes the whole transcript and ends the bot's part."""
        if isinstance(reply, Answer):
            turn = Turn("bot", reply.text, "answer", reply.article.id, reply.confidence, reply.query)
        else:
            turn = Turn("bot", reply.text, "handoff" if isinstance(reply, Handoff) else "courtesy")
        conversation.turns.append(turn)
        if isinstance(reply, Handoff):
            reply = replace(reply, transcript=tuple(conversation.turns))
            conversation.handoff = reply
        return reply
