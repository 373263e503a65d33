"""French and English for the web pages (the browser's language by default, ?lang= to switch)."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Customer experience overview", "period": "Period", "data": "Data",
        "nps": "Net Promoter Score", "csat": "Satisfaction (CSAT)", "ces": "Ease (CES)",
        "answers": "answers", "skipped": "skipped", "moe": "95 % margin of error",
        "interval": "95 % interval", "few": "Few answers: read with care",
        "promoters": "promoters", "passives": "passives", "detractors": "detractors",
        "easy": "found it easy", "satisfied": "satisfied", "no_answers": "No answers yet",
        "switching": "Channel switching inside episodes",
        "switching_help": "Each row is the channel of a contact, each column the channel of the "
                          "next contact about the same issue; cells are shares of the row. "
                          "Off the diagonal, the customer had to change channel.",
        "from_to": "from ↓ / to →", "no_contacts": "No service contacts yet",
        "quarantine": "rows in quarantine", "persons": "persons", "touchpoints": "touchpoints",
        "cases": "cases", "orders": "orders", "responses": "answers", "messages": "messages",
        "identities": "identifiers", "not_found": "Page not found", "error": "Something went wrong",
        "back": "Back to the overview", "lang": "Français", "moves": "moves", "mean": "mean",
        "login": "Log in", "logout": "Log out", "email": "E-mail", "password": "Password",
        "bad_login": "Wrong e-mail or password.",
    },
    "fr": {
        "title": "Vue d’ensemble de l’expérience client", "period": "Période", "data": "Données",
        "nps": "Net Promoter Score", "csat": "Satisfaction (CSAT)", "ces": "Facilité (CES)",
        "answers": "réponses", "skipped": "sans note", "moe": "marge d’erreur à 95 %",
        "interval": "intervalle à 95 %", "few": "Peu de réponses : à lire avec prudence",
        "promoters": "promoteurs", "passives": "passifs", "detractors": "détracteurs",
        "easy": "ont trouvé cela facile", "satisfied": "satisfaits", "no_answers": "Pas encore de réponses",
        "switching": "Changements de canal au sein des épisodes",
        "switching_help": "Chaque ligne est le canal d’un contact, chaque colonne celui du contact "
                          "suivant sur le même sujet ; les cases sont des parts de la ligne. Hors de "
                          "la diagonale, le client a dû changer de canal.",
        "from_to": "de ↓ / vers →", "no_contacts": "Pas encore de contacts de service",
        "quarantine": "lignes en quarantaine", "persons": "personnes", "touchpoints": "points de contact",
        "cases": "dossiers", "orders": "commandes", "responses": "réponses", "messages": "messages",
        "identities": "identifiants", "not_found": "Page introuvable", "error": "Une erreur est survenue",
        "back": "Retour à la vue d’ensemble", "lang": "English", "moves": "passages", "mean": "moy.",
        "login": "Connexion", "logout": "Déconnexion", "email": "E-mail", "password": "Mot de passe",
        "bad_login": "E-mail ou mot de passe incorrect.",
    },
}
CHANNEL_NAMES = {
    "fr": {"web": "web", "app": "appli", "email": "e-mail", "sms": "SMS", "chat": "chat",
           "social": "réseaux sociaux", "phone": "téléphone", "store": "magasin", "chatbot": "chatbot",
           "video": "vidéo"},
    "en": {"web": "web", "app": "app", "email": "e-mail", "sms": "SMS", "chat": "chat",
           "social": "social", "phone": "phone", "store": "store", "chatbot": "chatbot", "video": "video"},
}


def pick_language(query: str | None, accept_language: str | None) -> str:
    if query in STRINGS:
        return query
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in STRINGS:
            return code
    return "en"
