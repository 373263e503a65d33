"""Words of French and English text: folding, tokens, stop words, stems, language detection.

Customers write without accents, in SMS style, with typos, and in either language; every
text feature of Parcours (FAQ retrieval, verbatims) must read "remboursé", "rembourse" and
"REMBOURSÉ" as one word. Everything here is offline and deterministic: lower-case, accent
folding, French elision ("l'", "qu'"…), a few SMS abbreviations, small stop lists and
Snowball stems.

>>> terms("Je n'ai PAS reçu l'étiquette de retour !", "fr")
['recu', 'etiquette', 'retour']
>>> stems(["etiquette", "retours"], "fr")
['etiquet', 'retour']
>>> detect_language("hi, where is my parcel pls")
'en'
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

__all__ = ["LANGUAGES", "STOP_WORDS", "detect_language", "fold", "language_scores", "stems", "terms", "words"]

#: Languages with stop words, abbreviations and a stemmer.
LANGUAGES = ("fr", "en")

_SNOWBALL = {"fr": "french", "en": "english"}

# Folded forms (no accents). Kept short on purpose: a word that can carry the meaning of a
# question ("point", "fois", "deux", "compte", "code") is not a stop word.
_STOP_FR = """
a ai aie aient aies ait as au aucun aucune aupres aussi autre autres aux avais avait avant avec
avez aviez avoir avons bah bien bjr bon bonjour bonsoir c ca ce ceci cela celle celui ces cet
cette chez chui ci comme comment d dans de des dois doit donc dont du elle elles en encore es
est et etais etait ete etes etre eu eux fai faire fais fait faut hello il ils j jai je jsuis
jusqu jveux l la le les leur leurs lui m ma madame mais me merci mes mci moi mon monsieur mrc
n ne ni non nos notre nous on ont par parce pas peu peut peuvent peux plus pour
pourrais pourriez pouvez pouvoir puis puisque qu que quel quelle quelles quels qui quoi
s sa salut sans se ses si sil slt son sont stp suis sur svp t ta te tes toi ton toujours tous
tout toute toutes tres tu un une vos votre vous y deja ya veux voudrais souhaite souhaiterais
aimerais pa entre
"""
_STOP_EN = """
a about am an and any anyone are as at be been being but by can cant could couldnt did didnt
do does doesnt dont for from get got had has hasnt have havent having he hello her hey hi him
his i id if im in into is isnt it its ive just let me mine my no not of on or our out pls
please plz s shall she should so some still t than thank thanks that the their them then there
these they this those thx to too ty u ur us very was wasnt way we were what which
while who will with wont would yes yet you your yours d ll m re ve want need
"""
#: Question words say what kind of answer is wanted ("where" is my order, "when" will I be
#: refunded): not stop words, but markers of the language all the same.
_QUESTION_WORDS = {"fr": frozenset("ou quand pourquoi combien".split()),
                   "en": frozenset("where when why how".split())}
#: Stop words per language, folded.
STOP_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(_STOP_FR.split()),
    "en": frozenset(_STOP_EN.split()),
}

#: SMS and chat shorthand, folded, expanded before stop words and stems.
_ABBREVIATIONS: dict[str, dict[str, str]] = {
    "fr": {
        "cmd": "commande", "cde": "commande", "cmde": "commande", "mdp": "mot passe",
        "pb": "probleme", "pbm": "probleme", "pblm": "probleme", "prob": "probleme",
        "tel": "telephone", "dispo": "disponible", "rbt": "remboursement", "qd": "quand",
        "pq": "pourquoi", "pk": "pourquoi", "pkoi": "pourquoi", "koi": "quoi", "ke": "que",
        "ds": "dans", "tjs": "toujours", "tjrs": "toujours", "bcp": "beaucoup", "pr": "pour",
        "app": "application", "appli": "application", "rdv": "rendez vous", "msg": "message",
        "infos": "information", "info": "information", "num": "numero", "mail": "email",
        "mails": "email", "sav": "service apres vente", "pcq": "parce que", "psk": "parce que",
    },
    "en": {
        "pwd": "password", "pw": "password", "acct": "account", "addr": "address",
        "info": "information", "msg": "message", "txt": "text", "b4": "before", "2day": "today",
        "tmrw": "tomorrow", "pkg": "package", "mail": "email", "num": "number", "r": "are",
        "cuz": "because", "coz": "because", "wanna": "want", "gonna": "going",
    },
}

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_ELISION_FR = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)'")
_CONTRACTION_EN = re.compile(r"n't\b|'(?:s|m|re|ve|ll|d)\b")
_EMAIL_WORD = re.compile(r"\be[\s-]?mails?\b")
_TOKEN = re.compile(r"[a-z0-9]+")
_FR_LETTERS = frozenset("éèêëàâçôûùîïœ")
#: Unicode's blocks of combining marks (what NFKD splits accents into); a regex is ~10x faster
#: than testing unicodedata.combining on every character of a long review.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower-case, accent-free text with straight apostrophes, so that "Reçu" and "recu" meet."""
    lowered = text.lower().translate(_APOSTROPHES).translate(_LIGATURES)
    if lowered.isascii():
        return lowered
    return _COMBINING.sub("", unicodedata.normalize("NFKD", lowered))


def words(text: str, language: str) -> list[str]:
    """Folded tokens, French elisions ("l'", "qu'") and English contractions cut off."""
    folded = _EMAIL_WORD.sub("email", fold(text))
    folded = _ELISION_FR.sub(" ", folded) if language == "fr" else _CONTRACTION_EN.sub(" ", folded)
    return _TOKEN.findall(folded)


def terms(text: str, language: str) -> list[str]:
    """The words that carry meaning: abbreviations expanded, stop words and lone letters dropped."""
    abbreviations, stop = _ABBREVIATIONS[language], STOP_WORDS[language]
    out: list[str] = []
    for word in words(text, language):
        for part in abbreviations.get(word, word).split():
            if part not in stop and (len(part) > 1 or part.isdigit()):
                out.append(part)
    return out


def stems(tokens: list[str], language: str) -> list[str]:
    """Snowball stems of folded tokens, so that "livraisons" and "livraison" are one term."""
    return [_stem(language, token) for token in tokens]


_local = threading.local()


def _stemmer(language: str) -> snowballstemmer.stemmer:
    """One stemmer per thread and language: Snowball stemmers keep state while they work."""
    cache: dict[str, snowballstemmer.stemmer] = _local.__dict__.setdefault("stemmers", {})
    if language not in cache:
        cache[language] = snowballstemmer.stemmer(_SNOWBALL[language])
    return cache[language]


@lru_cache(maxsize=65536)
def _stem(language: str, token: str) -> str:
    """A stem, with folded French past participles ("livree", "livrees") first made masculine.

    Snowball reads "ée" as a suffix but not a folded "ee": without this, "livrée" written with
    and without its accent would give two stems.
    """
    if language == "fr" and len(token) > 4 and token.endswith(("ee", "ees")):
        token = token[: -2 if token.endswith("ee") else -3] + "e"
    return str(_stemmer(language).stemWord(token))


_MARKERS: dict[str, frozenset[str]] = {
    "fr": (STOP_WORDS["fr"] | _QUESTION_WORDS["fr"]) - STOP_WORDS["en"] - {"hello", "a", "me"},
    "en": (STOP_WORDS["en"] | _QUESTION_WORDS["en"]) - STOP_WORDS["fr"] - {"a", "me", "on", "son", "as", "ne"},
}


def language_scores(text: str) -> dict[str, float]:
    """Evidence for each language: marker words (stop words of one language only), French
    accents, elisions. Zero everywhere means "no evidence", e.g. a lone product name."""
    lowered = text.lower().translate(_APOSTROPHES)
    tokens = _TOKEN.findall(fold(lowered).replace("'", " "))
    scores = {lang: float(sum(token in _MARKERS[lang] for token in tokens)) for lang in LANGUAGES}
    scores["fr"] += 0.5 * sum(ch in _FR_LETTERS for ch in lowered)
    scores["fr"] += len(_ELISION_FR.findall(fold(lowered)))
    scores["en"] += len(_CONTRACTION_EN.findall(fold(lowered)))
    return scores


#: Spellings of one language only, read when no marker word decides: "synopsis : leonard
#: shelby ( pearce" has none, but "sh" and "by" are English. Letter sequences, word endings.
_SPELLING = {
    "en": (re.compile(r"th|wh|sh|ck|oo|ee|w|k"), ("ing", "ed", "ly", "y", "ness", "ful", "less")),
    "fr": (re.compile(r"eau|eux|aux|qu|oi"),
           ("ee", "ees", "ique", "elle", "oire", "iere", "ais", "ait", "aient", "ez")),
}


def detect_language(text: str, default: str = "fr") -> str:
    """"fr" or "en", whichever the text shows more evidence for; ``default`` on a tie.

    Marker words decide; in a text of three words or more that has none (names, a plot),
    the words' spellings do."""
    scores = language_scores(text)
    best = max(LANGUAGES, key=lambda lang: scores[lang])
    if scores[best] > max(scores[lang] for lang in LANGUAGES if lang != best):
        return best
    tokens = _TOKEN.findall(fold(text))
    if len(tokens) < 3:
        return default
    spelled = {lang: sum(bool(inside.search(t)) or t.endswith(ends) for t in tokens)
               for lang, (inside, ends) in _SPELLING.items()}
    best = max(LANGUAGES, key=lambda lang: spelled[lang])
    return best if spelled[best] > max(spelled[lang] for lang in LANGUAGES if lang != best) else default
