"""The FAQ bot: what it answers, in which language, how sure it is, and when a human takes over.

Figures are measured on tests/data/bot_eval.tsv (customers' wording: typos, no accents, SMS,
mixed languages), which is not the articles' own `questions`; the floors are the figures
measured when the bot was written (docs/bot.md) minus a margin of about five points.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from parcours.desk.bot import THRESHOLD, Answer, Bot, Conversation, Courtesy, Handoff
from parcours.desk.kb import TOPICS, KnowledgeBase, read_articles
from parcours.text.language import detect_language, fold, stems, terms

EVAL = Path(__file__).parent / "data" / "bot_eval.tsv"


@dataclass(frozen=True)
class Item:
    split: str
    lang: str
    expected: str | None
    question: str


@pytest.fixture(scope="module")
def bot() -> Bot:
    return Bot(KnowledgeBase.shipped())


@pytest.fixture(scope="module")
def items() -> list[Item]:
    with EVAL.open(encoding="utf-8") as f:
        return [Item(r["split"], r["lang"], None if r["expected"] == "-" else r["expected"], r["question"])
                for r in csv.DictReader(f, delimiter="\t")]


def same_answer(kb: KnowledgeBase, article_id: str, expected: str) -> bool:
    """The article or its translation: both answer the question."""
    return article_id in {expected, kb.get(expected).translation}


def chat(bot: Bot, *messages: str) -> Iterator[tuple[Conversation, object]]:
    conversation = Conversation()
    for message in messages:
        yield conversation, bot.answer(conversation.add(message))


def last_reply(bot: Bot, *messages: str) -> tuple[Conversation, object]:
    *_, last = chat(bot, *messages)
    return last


# --- the shipped knowledge base ------------------------------------------------------------------


def test_every_article_has_its_translation_and_back(bot: Bot) -> None:
    kb = bot.kb
    by_language = {lang: [a for a in kb.articles if a.language == lang] for lang in ("fr", "en")}
    assert all(30 <= len(arts) <= 45 for arts in by_language.values())
    assert len({a.id for a in kb.articles}) == len(kb.articles)
    for article in kb.articles:
        other = kb.get(article.translation or "")
        assert other.language != article.language and other.translation == article.id
        assert other.topic == article.topic in TOPICS
        assert article.title and len(article.body.split()) >= 25


def test_seed_004_which_of_two_models(bot: Bot) -> None:
    reply = bot.reply("J'hésite entre le Vega 200 et le Vega 400, lequel prendre pour mon chien ?")
    assert isinstance(reply, Answer) and reply.article.id == "comparer-aspirateurs-vega"
    assert "Vega 200" in reply.text and "Vega 400" in reply.text and "349" in reply.text


def test_a_custom_base_is_read_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text('language = "en"\n[[article]]\nid = "a"\ntopic = "delivery"\n'
                                      'title = "Parcel tracking"\nbody = "Use the tracking link in your orders."\n'
                                      '[[article]]\nid = "b"\ntopic = "billing"\ntitle = "Invoices"\n'
                                      'body = "Download invoices from your account."\n', encoding="utf-8")
    kb = KnowledgeBase.load(tmp_path)
    assert kb.languages == ("en",)
    assert kb.search("where is the tracking link", "en").hits[0].article.id == "a"


def test_a_bad_file_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown topic 'weather'"):
        read_articles('language = "fr"\n[[article]]\nid = "x"\ntopic = "weather"\ntitle = "t"\nbody = "b"\n')
    with pytest.raises(ValueError, match="unknown language 'de'"):
        read_articles('language = "de"\n')
    twice = 'language = "en"\n' + '[[article]]\nid = "x"\ntopic = "billing"\ntitle = "t"\nbody = "b"\n' * 2
    (tmp_path / "en.toml").write_text(twice, encoding="utf-8")
    with pytest.raises(ValueError, match=r"unique: \['x'\]"):
        KnowledgeBase.load(tmp_path)


# --- reading customers' words -------------------------------------------------------------------


def test_accents_case_elisions_and_sms_shorthand_are_one_word() -> None:
    assert fold("REMBOURSÉ ÇA Œuvre") == "rembourse ca oeuvre"
    assert terms("Je n'ai PAS reçu l'étiquette !", "fr") == ["recu", "etiquette"]
    assert terms("mdp oublié", "fr") == ["mot", "passe", "oublie"]
    assert stems(["livraisons", "livraison"], "fr") == ["livraison", "livraison"]
    assert stems(["livree", "livre"], "fr")[0] == stems(["livree", "livre"], "fr")[1]


@pytest.mark.parametrize(("text", "language"), [
    ("bonjour, où est mon colis ?", "fr"), ("slt jai pa recu ma cmd", "fr"), ("c koi le délai", "fr"),
    ("hi where is my parcel", "en"), ("I cant log in to my acct", "en"), ("how do i return this", "en"),
])
def test_language_is_detected(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_a_question_without_language_clues_is_read_by_its_words(bot: Bot) -> None:
    assert bot.language_of("remboursement ?") == "fr"
    assert bot.language_of("refund?") == "en"


def test_typos_and_missing_apostrophes_still_find_the_article(bot: Bot) -> None:
    for text, expected in [("la garentie dure combien de temps", "garantie"),
                           ("je trouve pas letiquette de retour", "etiquette-retour"),
                           ("forgot my pasword", "password-login")]:
        reply = bot.reply(text)
        assert isinstance(reply, Answer) and reply.article.id == expected, text


# --- measured on the evaluation set -----------------------------------------------------------


def test_the_evaluation_set_is_written_apart_from_the_articles(bot: Bot, items: list[Item]) -> None:
    assert len(items) >= 150 and {i.lang for i in items} == {"fr", "en"}
    assert sum(i.expected is None for i in items) >= 20
    paraphrases = {" ".join(fold(q).strip(" ?.!").split()) for a in bot.kb.articles for q in a.questions}
    for item in items:
        assert " ".join(fold(item.question).strip(" ?.!").split()) not in paraphrases, item.question
        if item.expected is not None:
            assert bot.kb.get(item.expected).language == item.lang


def _measure(bot: Bot, items: list[Item]) -> dict[str, float]:
    scoped = [i for i in items if i.expected is not None]
    top1 = top3 = answered = right = offtopic_handed = 0
    for item in items:
        found = bot.search(item.question, bot.language_of(item.question))
        ids = [h.article.id for h in found.hits]
        if item.expected is not None:
            top1 += bool(ids) and same_answer(bot.kb, ids[0], item.expected)
            top3 += any(same_answer(bot.kb, i, item.expected) for i in ids[:3])
        reply = bot.reply(item.question)
        if isinstance(reply, Answer):
            answered += 1
            right += item.expected is not None and same_answer(bot.kb, reply.article.id, item.expected)
        elif item.expected is None:
            offtopic_handed += 1
    return {"accuracy@1": top1 / len(scoped), "accuracy@3": top3 / len(scoped),
            "containment": answered / len(items), "precision": right / answered,
            "offtopic_handed_over": offtopic_handed / (len(items) - len(scoped))}


@pytest.mark.parametrize(("split", "floors"), [
    # measured (accuracy@1, @3, containment, precision): dev .933 .978 .848 .951; test .896 .919 .800 .983;
    # holdout .729 .929 .613 .878; all .876 .944 .778 .951, off-topic handed over .9
    ("dev", {"accuracy@1": 0.88, "accuracy@3": 0.93, "containment": 0.78, "precision": 0.91}),
    ("test", {"accuracy@1": 0.85, "accuracy@3": 0.87, "containment": 0.75, "precision": 0.93}),
    ("holdout", {"accuracy@1": 0.68, "accuracy@3": 0.88, "containment": 0.57, "precision": 0.80}),
    ("all", {"accuracy@1": 0.83, "accuracy@3": 0.90, "containment": 0.72, "precision": 0.90,
             "offtopic_handed_over": 0.8}),
])
def test_answers_on_the_evaluation_set(bot: Bot, items: list[Item], split: str, floors: dict[str, float]) -> None:
    figures = _measure(bot, [i for i in items if split == "all" or i.split == split])
    assert all(figures[k] >= v for k, v in floors.items()), figures


def test_confidence_is_calibrated(bot: Bot, items: list[Item]) -> None:
    """Answers given with confidence c are right about c of the time (expected calibration
    error over five bins, measured 0.050)."""
    pairs = []
    for item in items:
        found = bot.search(item.question, bot.language_of(item.question))
        right = bool(found.hits) and item.expected is not None and same_answer(
            bot.kb, found.hits[0].article.id, item.expected)
        assert 0.0 <= found.confidence <= 1.0
        pairs.append((found.confidence, right))
    bins = [(0, 0.3), (0.3, 0.6), (0.6, 0.8), (0.8, 0.95), (0.95, 1.01)]
    error = 0.0
    for lo, hi in bins:
        inside = [(c, r) for c, r in pairs if lo <= c < hi]
        if inside:
            mean_c = sum(c for c, _ in inside) / len(inside)
            share = sum(r for _, r in inside) / len(inside)
            error += abs(mean_c - share) * len(inside) / len(pairs)
    assert error <= 0.1


# --- conversations -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "je veux parler à un conseiller", "Je voudrais parler à quelqu'un svp", "un humain svp !",
    "CONSEILLER", "passez-moi un vrai conseiller", "j'en ai marre du robot",
    "human please", "agent", "can I talk to someone?", "I want to speak to a real person",
    "put me through to an advisor", "stop the bot",
])
def test_asking_for_a_human_hands_over_at_once(bot: Bot, text: str) -> None:
    conversation, reply = last_reply(bot, text)
    assert isinstance(reply, Handoff) and reply.reason == "asked_for_human"
    assert reply.language == detect_language(text, default=reply.language)
    assert conversation.handoff is reply


def test_asking_for_a_human_in_the_middle_keeps_the_context(bot: Bot) -> None:
    conversation, reply = last_reply(bot, "Bonjour", "mon colis est arrivé abîmé", "je veux parler à un conseiller")
    assert isinstance(reply, Handoff) and reply.reason == "asked_for_human" and reply.language == "fr"
    assert [t.author for t in reply.transcript] == ["customer", "bot"] * 3
    assert "mon colis est arrivé abîmé" in reply.summary
    assert "Mon colis ou mon article est arrivé abîmé" in reply.summary  # the article already sent
    assert reply.topic == "delivery"


@pytest.mark.parametrize("text", [
    "Pouvez-vous me conseiller entre le Vega 200 et le Vega 400 ?",
    "Quelqu'un d'autre peut-il retirer mon colis ?",
    "What is your customer service phone number?",
    "Can someone else collect my parcel?",
    "je n'ai pas reçu la machine à café Arabica Duo",
    "je voudrais passer une commande pour une personne âgée, livrée chez elle",
    "can a person collect my parcel for me?",
])
def test_words_near_a_request_for_a_human_are_not_one(bot: Bot, text: str) -> None:
    reply = bot.reply(text)
    assert not (isinstance(reply, Handoff) and reply.reason == "asked_for_human")


@pytest.mark.parametrize(("text", "language"), [
    ("Je vais porter plainte, c'est une arnaque", "fr"), ("mon avocat vous enverra une mise en demeure", "fr"),
    ("le chargeur a pris feu et mon fils s'est brûlé", "fr"),
    ("I'm going to sue you", "en"), ("this is a scam, I'm calling trading standards", "en"),
    ("the charger caught fire", "en"), ("I want to make a complaint", "en"),
])
def test_sensitive_matters_go_to_a_human(bot: Bot, text: str, language: str) -> None:
    reply = bot.reply(text)
    assert isinstance(reply, Handoff) and reply.reason == "sensitive" and reply.language == language


@pytest.mark.parametrize(("messages", "language"), [
    (("ma commande n'est pas arrivée", "non, le suivi dit livré mais je n'ai rien", "ça ne m'aide pas"), "fr"),
    (("my parcel is late", "no, I meant it says delivered but I don't have it", "that didn't help"), "en"),
])
def test_two_unhelpful_answers_bring_a_human(bot: Bot, messages: tuple[str, ...], language: str) -> None:
    replies = [reply for _, reply in chat(bot, *messages)]
    first, second, third = replies
    assert isinstance(first, Answer) and isinstance(second, Answer)
    assert first.article.id != second.article.id
    assert second.article.topic == "delivery" and second.language == language
    assert isinstance(third, Handoff) and third.reason == "repeated_failure" and third.language == language
    assert first.article.title in third.summary or bot.kb.in_language(first.article, "fr").title in third.summary
    assert [t.kind for t in third.transcript] == ["question", "answer", "not_helped", "answer", "not_helped",
                                                  "handoff"]


def test_that_did_not_help_never_sends_the_same_article_again(bot: Bot) -> None:
    conversation, reply = last_reply(bot, "my parcel is late", "that didn't help")
    first = conversation.turns[1].article_id
    assert first == "delivery-late"
    assert not (isinstance(reply, Answer) and reply.article.id == first)
    assert conversation.failures == 1


def test_the_answer_follows_the_language_of_the_question(bot: Bot) -> None:
    fr = bot.reply("comment suivre ma commande")
    en = bot.reply("how can I track my order")
    assert isinstance(fr, Answer) and isinstance(en, Answer)
    assert (fr.language, fr.article.language, en.language, en.article.language) == ("fr", "fr", "en", "en")
    assert fr.article.translation == en.article.id
    assert "Cette réponse vous aide-t-elle ?" in fr.text and "Did this answer your question?" in en.text


def test_a_conversation_keeps_its_language_when_a_message_shows_none(bot: Bot) -> None:
    conversation, reply = last_reply(bot, "how long is the warranty", "Vega 400 ?")
    assert isinstance(reply, Answer) and reply.language == "en" and conversation.language == "en"


def test_greetings_and_thanks_are_answered_in_kind(bot: Bot) -> None:
    replies = [reply for _, reply in chat(bot, "Bonjour", "j'ai oublié mon mot de passe", "merci, parfait !")]
    assert isinstance(replies[0], Courtesy) and replies[0].kind == "greeting"
    assert isinstance(replies[1], Answer)
    assert isinstance(replies[2], Courtesy) and replies[2].kind == "thanks" and "autre chose" in replies[2].text
    thanks = last_reply(bot, "where is my order", "thanks!")[1]
    assert isinstance(thanks, Courtesy) and "anything else" in thanks.text


def test_an_off_topic_question_is_handed_over_for_low_confidence(bot: Bot) -> None:
    reply = bot.reply("what's the capital of Peru?")
    assert isinstance(reply, Handoff) and reply.reason == "low_confidence" and reply.confidence < THRESHOLD
    assert reply.topic is None and reply.suggestions == ()


def test_after_a_handoff_the_bot_stays_out(bot: Bot) -> None:
    conversation, handoff = last_reply(bot, "agent please")
    turns = len(conversation.turns)
    assert bot.answer(conversation.add("hello?")) is handoff
    assert len(conversation.turns) == turns + 1


def test_the_bot_answers_only_the_customer(bot: Bot) -> None:
    with pytest.raises(ValueError, match="customer"):
        bot.answer(Conversation())
    conversation, _ = last_reply(bot, "where is my order")
    with pytest.raises(ValueError, match="customer"):
        bot.answer(conversation)


def test_the_summary_is_written_for_the_agent_in_their_language() -> None:
    english_desk = Bot(KnowledgeBase.shipped(), agent_language="en")
    conversation, reply = last_reply(english_desk, "mon colis est en retard", "je veux un conseiller")
    assert isinstance(reply, Handoff)
    assert reply.summary.splitlines()[0] == "Bot handoff (asked for an advisor). Customer writes in French."
    assert "My order is late or has not arrived" in reply.summary
    assert reply.text.startswith("Bien sûr")


def test_the_docstring_examples_run() -> None:
    import doctest

    from parcours.desk import bot as bot_module
    from parcours.desk import kb as kb_module
    from parcours.text import language

    for module in (bot_module, kb_module, language):
        assert doctest.testmod(module).failed == 0, module.__name__
