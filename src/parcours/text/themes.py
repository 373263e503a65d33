"""What customers talk about: a fixed CX taxonomy of themes, and topics found in what it misses.

A theme is found when a clause holds one of its trigger words (folded and stemmed like the
sentiment reader's words, so "livrée", "livree" and "LIVRÉES" meet). ``discover`` groups the
texts it is given by the words they share (TF-IDF and spherical k-means, seeded: the same
texts give the same topics), to show what the taxonomy leaves unnamed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

from .language import LANGUAGES, detect_language, terms
from .language import stems as stem_words
from .sentiment import pieces

__all__ = ["THEMES", "Topic", "discover", "find", "theme_name"]

#: Theme key -> its name in each language.
THEMES: dict[str, dict[str, str]] = {
    "delivery": {"fr": "Livraison", "en": "Delivery"},
    "waiting": {"fr": "Temps d'attente", "en": "Waiting time"},
    "refund_return": {"fr": "Retours et remboursements", "en": "Returns and refunds"},
    "staff": {"fr": "Accueil et compétence des conseillers", "en": "Staff attitude and competence"},
    "price_billing": {"fr": "Prix et facturation", "en": "Price and billing"},
    "product_quality": {"fr": "Qualité des produits", "en": "Product quality"},
    "range": {"fr": "Choix et disponibilité", "en": "Range and availability"},
    "website_app": {"fr": "Site et application", "en": "Website and app"},
    "reachability": {"fr": "Joignabilité et changements de canal", "en": "Reaching us and channel switching"},
    "resolution": {"fr": "Résolution et suivi", "en": "Resolution and follow-up"},
    "store": {"fr": "Expérience en magasin", "en": "In-store experience"},
}

# Trigger words and phrases, written plainly; folded and stemmed when first used.
_TRIGGERS: dict[str, dict[str, str]] = {
    "delivery": {
        "fr": "livraison|livrer|livré|livreur|colis|expédition|expédié|envoi|transporteur|point relais|suivi de colis"
              "|suivi de livraison|réception|chronopost|colissimo",
        "en": "delivery|deliver|delivered|courier|parcel|package|shipping|shipped|shipment|tracking|arrived",
    },
    "waiting": {
        "fr": "attente|attendre|attendu|patienter|délai|délais|réactivité|réactif|minutes|heures|longtemps",
        "en": "wait|waited|waiting|on hold|queue|minutes|hours|responsive|response time|long time",
    },
    "refund_return": {
        "fr": "remboursement|rembourser|remboursé|retour|retourner|renvoyer|renvoyé|échange|échanger|bon d'achat"
              "|étiquette",
        "en": "refund|refunded|return|returned|exchange|money back|send back|sent back|label",
    },
    "staff": {
        "fr": "conseiller|conseillère|agent|vendeur|vendeuse|personnel|employé|équipe|accueil|aimable|poli|impoli"
              "|gentillesse|gentil|compétent|incompétent|écoute|professionnel|chaleureux|expéditif|interlocuteur",
        "en": "advisor|adviser|agent|staff|employee|team|rude|polite|friendly|helpful|unhelpful|kindness|competent"
              "|incompetent|attentive|professional|welcome|listened",
    },
    "price_billing": {
        "fr": "prix|cher|tarif|facture|facturation|paiement|payer|débité|prélèvement|frais|promo|abonnement|remise"
              "|coût",
        "en": "price|prices|expensive|cheap|cost|invoice|bill|billing|charged|payment|pay|fee|fees|promo|discount"
              "|subscription|value for money|deals",
    },
    "product_quality": {
        "fr": "produit|article|qualité|cassé|défectueux|abîmé|défaut|pièce|taille",
        "en": "product|products|item|quality|broken|broke|faulty|damaged|defect|size",
    },
    "range": {
        "fr": "choix|gamme|stock|rupture|référence",
        "en": "choice|range|selection|stock|out of stock",
    },
    "website_app": {
        "fr": "site|appli|application|internet|web|bug|bugue|plante|connexion|connecter|compte|mot de passe|panier"
              "|notification",
        "en": "website|site|app|online|bug|crash|crashes|crashing|login|log in|password|account|checkout|basket"
              "|cart|notification",
    },
    "reachability": {
        "fr": "joindre|injoignable|joignable|téléphone|appel|appeler|rappeler|répondre|répond|email|courriel|chat"
              "|canal|canaux|transféré|baladé|standard|service client|hotline|numéro|répéter|réexpliquer",
        "en": "reach|reached|unreachable|phone|call|called|call back|answer|reply|email|emails|chat|channel"
              "|channels|transferred|passed from|customer service|hotline|repeat|explain again",
    },
    "resolution": {
        "fr": "réglé|résolu|résoudre|solution|relancer|relance|dossier|traité|traitement|réclamation"
              "|geste commercial",
        "en": "solved|sorted|resolved|resolve|solution|fixed|follow up|chase|complaint|case",
    },
    "store": {
        "fr": "magasin|boutique|caisse|rayon|cabine|parking|enseigne",
        "en": "store|shop|till|aisle|fitting room|cashier",
    },
}


def theme_name(key: str, language: str) -> str:
    """The theme's name in ``language`` ("fr" or "en"); KeyError for an unknown theme."""
    names = THEMES[key]
    return names.get(language, names["en"])


def find(stems: Sequence[str], language: str) -> list[str]:
    """Theme keys triggered in a clause's stems, once per trigger found, in order of appearance."""
    singles, phrases = _triggers(language)
    found: list[str] = []
    i = 0
    while i < len(stems):
        for phrase, key in phrases.get(stems[i], ()):
            if tuple(stems[i:i + len(phrase)]) == phrase:
                found.append(key)
                i += len(phrase)
                break
        else:
            if stems[i] in singles:
                found.append(singles[stems[i]])
            i += 1
    return found


@lru_cache(maxsize=None)
def _triggers(language: str) -> tuple[dict[str, str], dict[str, tuple[tuple[tuple[str, ...], str], ...]]]:
    """(stem -> theme, first stem -> (phrase stems, theme) longest first)."""
    singles: dict[str, str] = {}
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for key, by_language in _TRIGGERS.items():
        for trigger in by_language[language].split("|"):
            stems = tuple(s for word in trigger.split() for _, s in pieces(language, word.lower()))
            if len(stems) == 1:
                singles.setdefault(stems[0], key)
            else:
                phrases.setdefault(stems[0], []).append((stems, key))
    return singles, {k: tuple(sorted(v, key=lambda e: -len(e[0]))) for k, v in phrases.items()}


@dataclass(frozen=True, slots=True)
class Topic:
    """A group of texts found by ``discover``, named after its strongest words."""

    name: str
    terms: tuple[str, ...]
    size: int
    examples: tuple[str, ...]


def discover(texts: Sequence[str], languages: Sequence[str | None] | None = None, k: int = 8) -> list[Topic]:
    """Group texts by the words they share: at most ``k`` topics, largest first.

    Pass the texts the taxonomy leaves unthemed to see what it misses, or all of them. Words
    are stems without stop words; those in fewer than two texts are dropped. Deterministic.
    """
    docs, kept = [], []
    for i, text in enumerate(texts):
        if not text:
            continue
        given = languages[i] if languages is not None else None
        language = given if given in LANGUAGES else detect_language(text)
        words = terms(text, language)
        docs.append(list(zip(stem_words(words, language), words)))
        kept.append(i)
    matrix, vocabulary, surface = _tfidf(docs)
    n = matrix.shape[0]
    if n == 0 or not vocabulary:
        return []
    assign, centroids = _kmeans(matrix, min(k, n))
    topics = []
    for c in range(centroids.shape[0]):
        members = np.flatnonzero(assign == c)
        if members.size == 0:
            continue
        top = [vocabulary[j] for j in np.argsort(-centroids[c], kind="stable")[:5] if centroids[c, j] > 0]
        names = tuple(surface[s] for s in top)
        closeness = np.asarray(matrix[members] @ centroids[c]).ravel()
        examples: list[str] = []
        for m in members[np.argsort(-closeness, kind="stable")]:
            text = texts[kept[m]]
            if text not in examples:
                examples.append(text)
            if len(examples) == 3:
                break
        topics.append(Topic(" / ".join(names[:3]), names, int(members.size), tuple(examples)))
    return sorted(topics, key=lambda t: (-t.size, t.name))


def _tfidf(docs: list[list[tuple[str, str]]]) -> tuple[sparse.csr_matrix, list[str], dict[str, str]]:
    """Row-normalised TF-IDF of the rows that keep a word; the vocabulary; a stem's commonest word."""
    df = Counter(stem for doc in docs for stem in {s for s, _ in doc})
    vocabulary = sorted(s for s, count in df.items() if count >= 2)
    index = {s: j for j, s in enumerate(vocabulary)}
    surface_counts: dict[str, Counter[str]] = {}
    rows, cols, vals = [], [], []
    r = 0
    for doc in docs:
        counts = Counter(s for s, _ in doc if s in index)
        if not counts:
            continue
        for s, word in doc:
            if s in index:
                surface_counts.setdefault(s, Counter())[word] += 1
        for s, tf in counts.items():
            rows.append(r)
            cols.append(index[s])
            vals.append((1.0 + np.log(tf)) * (np.log((1 + len(docs)) / (1 + df[s])) + 1.0))
        r += 1
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(r, len(vocabulary)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix
    surface = {s: min(c.items(), key=lambda e: (-e[1], e[0]))[0] for s, c in surface_counts.items()}
    return sparse.csr_matrix(matrix), vocabulary, surface


def _kmeans(matrix: sparse.csr_matrix, k: int, rounds: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (cosine) with k-means++ seeding from a fixed seed."""
    rng = np.random.default_rng(0)
    n = matrix.shape[0]
    chosen = [int(rng.integers(n))]
    best = 1.0 - np.asarray(matrix @ matrix[chosen[0]].T.toarray()).ravel()
    for _ in range(1, k):
        weights = np.maximum(best, 0.0)
        if weights.sum() <= 0:
            break                     # every text is identical to a seed: fewer topics than k
        chosen.append(int(rng.choice(n, p=weights / weights.sum())))
        best = np.minimum(best, 1.0 - np.asarray(matrix @ matrix[chosen[-1]].T.toarray()).ravel())
    centroids = matrix[chosen].toarray()
    assign = np.full(n, -1)
    for _ in range(rounds):
        new = np.asarray(matrix @ centroids.T).argmax(axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for c in range(centroids.shape[0]):
            members = assign == c
            if members.any():
                centre = np.asarray(matrix[members].sum(axis=0)).ravel()
                centroids[c] = centre / max(np.linalg.norm(centre), 1e-12)
    return assign, centroids
