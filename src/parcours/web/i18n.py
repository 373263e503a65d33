"""French and English for the web pages (the browser's language by default, ?lang= to switch)."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        # layout
        "title": "Customer experience overview", "nav": "Main", "nav_overview": "Overview",
        "nav_journeys": "Journeys", "nav_service": "Service", "nav_loyalty": "Loyalty & value",
        "nav_voice": "Voice", "nav_customers": "Customer 360", "nav_api": "API docs", "menu": "Menu",
        "signed_in_as": "Signed in as", "lang": "Français", "lang_label": "Lire en français",
        "skip": "Skip to the content", "colon": ":",
        # filters
        "filters": "Filters", "from": "From", "to": "To (excluded)", "channel": "Channel",
        "segment": "Segment", "stage": "Journey stage", "all": "all", "apply": "Apply", "reset": "Reset",
        "filtered": "Filtered", "bad_filter": "This filter was ignored",
        # overview (existing)
        "period": "Period", "data": "Data",
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
        "back": "Back to the overview", "moves": "moves", "mean": "mean",
        "computed_at": "figures computed",
        "login": "Log in", "logout": "Log out", "email": "E-mail", "password": "Password",
        "bad_login": "Wrong e-mail or password.",
        # overview
        "trends": "Scores month by month", "trend_help": "The line is the score of the month; the band "
        "is its 95 % interval (NPS only: the report gives no interval for monthly CSAT and CES). A hollow "
        "point is a month with few answers.", "month": "Month", "score": "Score", "low": "low", "high": "high",
        "n": "n", "nps_trend": "NPS per month", "csat_trend": "CSAT per month (% satisfied)",
        "ces_trend": "CES per month (% found it easy)", "counts_trend": "Answers per month",
        "metric": "Survey", "data_table": "Data table", "reactivity": "Service reactivity",
        "first_response": "First response", "resolution": "Resolution", "median": "median", "p90": "90th percentile",
        "hours": "h", "churn": "Churn", "churn_help": "Customers lost in the last complete quarter "
        "(contractual churn), and share of buyers of a quarter who bought again in the next one.",
        "contractual_churn": "lost in the quarter", "repeat_retention": "bought again the next quarter",
        "see_more": "More", "no_data": "No data for these filters",
        # journeys
        "journeys_title": "Journeys", "heatmap": "Heat map of channel switches", "share_of_row": "share of row",
        "next_channel": "next channel", "channel_from": "channel", "sankey": "Most frequent journeys (top paths)",
        "sankey_help": "Each journey is the sequence of channels a customer used for one issue; "
                       "the width is the number of episodes.", "path": "Path", "episodes": "episodes",
        "step": "step", "end_episode": "end of the episode", "avoidable": "Avoidable contacts",
        "avoidable_help": "Contacts followed by another contact about the same issue (the first did not "
                          "settle it).", "avoidable_other": "… of which on another channel",
        "give_up": "Gave up", "give_up_help": "Episodes that ended without a resolution.",
        "give_up_calls": "calls abandoned", "continue_after_call": "Continued after a call",
        "continue_after_call_help": "Calls followed by another contact about the same issue.",
        "chat_after_call": "went to chat after a call", "peak_end": "Worst and last touchpoints (peak–end)",
        "peak_end_help": "How well the worst moment (peak), the last moment (end) and the average of an "
                         "episode predict the satisfaction answer: correlation r and explained share r².",
        "predictor": "Predictor", "pred_peak": "worst touchpoint (peak)", "pred_end": "last touchpoint (end)",
        "pred_mean": "average of touchpoints", "pred_peak_end": "peak and end together",
        "funnel": "Funnel by journey stage", "funnel_help": "Persons reaching each stage, and the share "
        "of those who reached the previous stage (95 % interval).", "reached": "reached",
        "conversion": "conversion", "days_prev": "days from previous stage", "effort": "Effort per episode",
        "contacts_mean": "contacts (mean)", "contacts_p90": "contacts (90th percentile)",
        "multichannel": "used several channels", "variants": "distinct journeys", "wait": "Waiting per channel",
        "wait_median": "wait (median)", "wait_p90": "wait (90th percentile)", "handle_median": "handling (median)",
        "of": "of", "stage_discover": "discover", "stage_consider": "consider", "stage_buy": "buy",
        "stage_use": "use", "stage_support": "support", "stage_leave": "leave",
        # service
        "service_title": "Service", "fcr": "First-contact resolution (FCR)", "fcr_help": "Issues settled "
        "by the first contact. Across channels a repeat on any channel counts as a failure; 'same channel' "
        "only sees repeats on the first contact's channel and so overstates FCR.",
        "fcr_across": "across channels", "fcr_same": "same channel only", "overstatement": "overstatement",
        "points": "points", "sla": "SLA attainment", "sla_response": "response in time",
        "sla_resolution": "resolution in time", "breached": "breached", "pending": "pending",
        "reopen": "Reopened cases", "bot": "Bot containment", "bot_help": "Chatbot conversations "
        "settled without a human.", "per_issue": "Contacts per issue", "repeat_issue": "issues needing "
        "more than one contact", "fcr_by_channel": "FCR by channel", "by_agent": "By agent",
        "by_agent_help": "Answers linked to an agent's contacts, and the agent's avoidable contacts. "
        "First response, resolution and FCR per agent are not in the report yet.", "agent": "Agent",
        "without_response": "without a response", "open": "still open",
        # loyalty
        "loyalty_title": "Loyalty & value", "cohorts": "Cohort retention", "cohorts_help": "Customers "
        "by quarter of first purchase (rows) still buying N quarters later (columns).", "cohort": "First purchase",
        "age": "quarters later", "retention": "Retention", "retention_help": "Buyers of a quarter who "
        "bought again in the next one (repeat purchase), with its 95 % interval.", "churn_period": "Churn per quarter",
        "churn_period_help": "Customers lost (contract ended or cancelled) among those active at the start "
        "of the quarter.", "lost": "lost", "new": "new", "quarter": "Quarter", "incomplete": "incomplete",
        "value": "Customer value (52 weeks)", "value_help": "Expected value of each customer over the next "
        "52 weeks (BG/NBD and Gamma-Gamma models fitted on the orders).", "clv_total": "total expected value",
        "clv_mean": "mean per customer", "clv_median": "median per customer", "top_decile": "share of the top 10 %",
        "p_alive": "probability still active (mean)", "p_alive_low": "customers below 50 %",
        "expected_purchases": "expected purchases per customer", "customers": "customers",
        "repeat_customers": "repeat customers", "clv_deciles": "Customer value by tenth of customers "
        "(ranked by CLV over 52 weeks): share of the total", "decile_label": "tenth {k}",
        "clv_share": "share of the total value", "clv_range": "CLV from – to",
        "segments": "Segments", "rfm": "RFM segments (recency, frequency, monetary value)",
        "behaviour": "Contact behaviour segments", "share": "share", "recency": "recency (days)",
        "frequency": "orders", "monetary": "spent", "loyalty_sat": "Loyalty × satisfaction",
        "nps_category": "NPS answer", "buyer": "Buying", "reading": "Reading",
        "no_value": "Not enough orders to fit the value models.",
        # voice
        "voice_title": "Voice of the customer", "verbatims": "Verbatims", "verbatims_help": "The most "
        "recent answers with a comment, with their score.", "no_themes": "Theme and sentiment analysis of "
        "the comments is not available yet: it comes in a later version. Until then, read the verbatims.",
        "comment": "Comment", "date": "Date", "no_verbatims": "No comments for these filters",
        "any_metric": "every survey", "show": "Show",
        # customer 360
        "customers_title": "Customer 360", "search": "Search", "search_label": "E-mail, phone (any format), "
        "handle, app id or person id", "search_hint": "For example 06 12 34 56 78 or anne@example.fr",
        "person_not_found": "No person is known by “{q}”.", "person": "Person", "attributes": "Attributes",
        "identifiers": "Identifiers", "kind": "Kind", "value_col": "Value", "first_seen": "First seen",
        "source": "Source", "merges": "Merges", "merged": "merged person", "evidence": "evidence",
        "no_merges": "No merges.", "timeline": "Timeline", "timeline_help": "Every channel, the latest first.",
        "what": "What", "detail": "Detail", "topic": "Topic", "outcome": "Outcome", "case": "Case",
        "text": "Text", "first_events": "Only the first {n} events are shown.",
        "what_touchpoint": "touchpoint", "what_case": "case", "what_order": "order", "what_answer": "answer",
        "what_message": "message", "events": "events",
        # api docs
        "api_title": "REST API", "api_help": "Authenticate with Authorization: Bearer <token> "
        "(parcours tokens create).",
        # errors
        "forbidden": "You may not see this page", "forbidden_help": "Your role does not give access to it. "
        "Ask an administrator if you need it.", "unreadable": "The request could not be read",
        "error_help": "The error has been logged. Try again, or go back.", "home": "Back to your home page",
        "login_again": "Log in",
    },
    "fr": {
        "title": "Vue d’ensemble de l’expérience client", "nav": "Principal", "nav_overview": "Vue d’ensemble",
        "nav_journeys": "Parcours", "nav_service": "Service", "nav_loyalty": "Fidélité et valeur",
        "nav_voice": "Voix du client", "nav_customers": "Client 360", "nav_api": "Doc. API", "menu": "Menu",
        "signed_in_as": "Connecté en tant que", "lang": "English", "lang_label": "Read in English",
        "skip": "Aller au contenu", "colon": "\u00a0:",
        "filters": "Filtres", "from": "Du", "to": "Au (exclu)", "channel": "Canal",
        "segment": "Segment", "stage": "Étape du parcours", "all": "tous", "apply": "Appliquer",
        "reset": "Effacer", "filtered": "Filtré", "bad_filter": "Ce filtre a été ignoré",
        "period": "Période", "data": "Données",
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
        "back": "Retour à la vue d’ensemble", "moves": "passages", "mean": "moy.",
        "computed_at": "chiffres calculés",
        "login": "Connexion", "logout": "Déconnexion", "email": "E-mail", "password": "Mot de passe",
        "bad_login": "E-mail ou mot de passe incorrect.",
        "trends": "Les notes mois par mois", "trend_help": "La ligne est la note du mois ; la bande, son "
        "intervalle à 95 % (NPS seulement : le rapport ne donne pas d’intervalle mensuel pour le CSAT et le "
        "CES). Un point creux signale un mois avec peu de réponses.", "month": "Mois", "score": "Note", "low": "bas",
        "high": "haut", "n": "n", "nps_trend": "NPS par mois", "csat_trend": "CSAT par mois (% satisfaits)",
        "ces_trend": "CES par mois (% l’ont trouvé facile)", "counts_trend": "Réponses par mois",
        "metric": "Enquête", "data_table": "Tableau des données", "reactivity": "Réactivité du service",
        "first_response": "Première réponse", "resolution": "Résolution", "median": "médiane",
        "p90": "90e centile", "hours": "h", "churn": "Attrition", "churn_help": "Clients perdus au dernier "
        "trimestre complet (attrition contractuelle), et part des acheteurs d’un trimestre qui ont racheté "
        "au suivant.", "contractual_churn": "perdus dans le trimestre",
        "repeat_retention": "ont racheté le trimestre suivant", "see_more": "Détails",
        "no_data": "Pas de données pour ces filtres",
        "journeys_title": "Parcours", "heatmap": "Carte de chaleur des changements de canal",
        "share_of_row": "part de la ligne", "next_channel": "canal suivant", "channel_from": "canal",
        "sankey": "Parcours les plus fréquents", "sankey_help": "Chaque parcours est la suite des canaux "
        "utilisés par un client pour un même sujet ; l’épaisseur est le nombre d’épisodes.",
        "path": "Parcours", "episodes": "épisodes", "step": "étape", "end_episode": "fin de l’épisode",
        "avoidable": "Contacts évitables",
        "avoidable_help": "Contacts suivis d’un autre contact sur le même sujet (le premier ne l’a pas réglé).",
        "avoidable_other": "… dont sur un autre canal", "give_up": "Abandons",
        "give_up_help": "Épisodes terminés sans résolution.", "give_up_calls": "appels abandonnés",
        "continue_after_call": "Suite après un appel",
        "continue_after_call_help": "Appels suivis d’un autre contact sur le même sujet.",
        "chat_after_call": "passés au chat après un appel",
        "peak_end": "Pire et dernier points de contact (pic–fin)",
        "peak_end_help": "À quel point le pire moment (pic), le dernier moment (fin) et la moyenne d’un "
                         "épisode prédisent la satisfaction : corrélation r et part expliquée r².",
        "predictor": "Prédicteur", "pred_peak": "pire point de contact (pic)",
        "pred_end": "dernier point de contact (fin)", "pred_mean": "moyenne des points de contact",
        "pred_peak_end": "pic et fin ensemble", "funnel": "Entonnoir par étape du parcours",
        "funnel_help": "Personnes atteignant chaque étape, et part de celles qui avaient atteint l’étape "
        "précédente (intervalle à 95 %).", "reached": "atteinte", "conversion": "conversion",
        "days_prev": "jours depuis l’étape précédente", "effort": "Effort par épisode",
        "contacts_mean": "contacts (moyenne)", "contacts_p90": "contacts (90e centile)",
        "multichannel": "ont utilisé plusieurs canaux", "variants": "parcours distincts",
        "wait": "Attente par canal", "wait_median": "attente (médiane)", "wait_p90": "attente (90e centile)",
        "handle_median": "traitement (médiane)", "of": "sur", "stage_discover": "découverte",
        "stage_consider": "réflexion", "stage_buy": "achat", "stage_use": "usage", "stage_support": "support",
        "stage_leave": "départ",
        "service_title": "Service", "fcr": "Résolution au premier contact (FCR)", "fcr_help": "Sujets "
        "réglés dès le premier contact. Tous canaux confondus, un nouveau contact sur n’importe quel canal "
        "est un échec ; « même canal » ne voit que les relances sur le canal du premier contact et surestime "
        "donc le FCR.", "fcr_across": "tous canaux", "fcr_same": "même canal seulement",
        "overstatement": "surestimation", "points": "points", "sla": "Respect des engagements (SLA)",
        "sla_response": "réponse dans les délais", "sla_resolution": "résolution dans les délais",
        "breached": "hors délai", "pending": "en cours", "reopen": "Dossiers rouverts",
        "bot": "Autonomie du chatbot", "bot_help": "Conversations avec le chatbot réglées sans humain.",
        "per_issue": "Contacts par sujet", "repeat_issue": "sujets ayant demandé plus d’un contact",
        "fcr_by_channel": "FCR par canal", "by_agent": "Par conseiller",
        "by_agent_help": "Réponses liées aux contacts d’un conseiller, et ses contacts évitables. La "
        "première réponse, la résolution et le FCR par conseiller ne sont pas encore dans le rapport.",
        "agent": "Conseiller", "without_response": "sans réponse", "open": "encore ouverts",
        "loyalty_title": "Fidélité et valeur", "cohorts": "Rétention par cohorte",
        "cohorts_help": "Clients par trimestre de premier achat (lignes) qui achètent encore N trimestres "
        "plus tard (colonnes).", "cohort": "Premier achat", "age": "trimestres plus tard",
        "retention": "Rétention", "retention_help": "Acheteurs d’un trimestre qui ont racheté au suivant "
        "(réachat), avec l’intervalle à 95 %.", "churn_period": "Attrition par trimestre",
        "churn_period_help": "Clients perdus (contrat terminé ou résilié) parmi les actifs en début de "
        "trimestre.", "lost": "perdus", "new": "nouveaux", "quarter": "Trimestre", "incomplete": "incomplet",
        "value": "Valeur client (52 semaines)", "value_help": "Valeur attendue de chaque client sur les "
        "52 prochaines semaines (modèles BG/NBD et Gamma-Gamma ajustés sur les commandes).",
        "clv_total": "valeur totale attendue", "clv_mean": "moyenne par client", "clv_median": "médiane par client",
        "top_decile": "part des 10 % meilleurs", "p_alive": "probabilité d’être encore actif (moyenne)",
        "p_alive_low": "clients sous 50 %", "expected_purchases": "achats attendus par client",
        "customers": "clients", "repeat_customers": "clients ayant racheté",
        "clv_deciles": "Valeur client par dixième des clients (classés par CLV sur 52 semaines) : part du "
        "total", "decile_label": "{k}ᵉ dixième", "clv_share": "part de la valeur totale",
        "clv_range": "CLV de – à", "segments": "Segments",
        "rfm": "Segments RFM (récence, fréquence, montant)", "behaviour": "Segments de comportement de contact",
        "share": "part", "recency": "récence (jours)", "frequency": "commandes", "monetary": "dépensé",
        "loyalty_sat": "Fidélité × satisfaction", "nps_category": "Réponse NPS", "buyer": "Achats",
        "reading": "Lecture", "no_value": "Pas assez de commandes pour ajuster les modèles de valeur.",
        "voice_title": "Voix du client", "verbatims": "Verbatims", "verbatims_help": "Les réponses les "
        "plus récentes avec un commentaire, et leur note.", "no_themes": "L’analyse des thèmes et du "
        "sentiment des commentaires n’est pas encore disponible : elle arrive dans une prochaine version. "
        "D’ici là, lisez les verbatims.", "comment": "Commentaire", "date": "Date",
        "no_verbatims": "Pas de commentaires pour ces filtres", "any_metric": "toutes les enquêtes",
        "show": "Afficher",
        "customers_title": "Client 360", "search": "Rechercher", "search_label": "E-mail, téléphone (tout "
        "format), pseudo, identifiant d’appli ou de personne", "search_hint": "Par exemple 06 12 34 56 78 "
        "ou anne@exemple.fr", "person_not_found": "Aucune personne n’est connue sous « {q} ».",
        "person": "Personne", "attributes": "Attributs", "identifiers": "Identifiants", "kind": "Type",
        "value_col": "Valeur", "first_seen": "Vu la première fois", "source": "Source", "merges": "Fusions",
        "merged": "personne fusionnée", "evidence": "preuve", "no_merges": "Aucune fusion.",
        "timeline": "Chronologie", "timeline_help": "Tous les canaux, du plus récent au plus ancien.",
        "what": "Quoi", "detail": "Détail", "topic": "Sujet", "outcome": "Issue", "case": "Dossier",
        "text": "Texte", "first_events": "Seuls les {n} premiers événements sont affichés.",
        "what_touchpoint": "point de contact", "what_case": "dossier", "what_order": "commande",
        "what_answer": "réponse", "what_message": "message", "events": "événements",
        "api_title": "API REST", "api_help": "Authentifiez-vous avec Authorization: Bearer <jeton> "
        "(parcours tokens create).",
        "forbidden": "Vous n’avez pas accès à cette page", "forbidden_help": "Votre rôle n’y donne pas "
        "accès. Demandez-le à un administrateur si vous en avez besoin.",
        "unreadable": "La requête n’a pas pu être lue",
        "error_help": "L’erreur a été journalisée. Réessayez, ou revenez en arrière.",
        "home": "Retour à votre page d’accueil", "login_again": "Se connecter",
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

#: the desk's pages (inbox, case page): kept together, merged into STRINGS below
DESK_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "nav_desk": "Desk", "desk_title": "Service desk", "desk_status": "Status", "desk_team": "Team",
        "desk_priority": "Priority", "desk_mine": "Assigned to me",
        "desk_search": "Search (case, e-mail, phone, words)",
        "desk_keys": "Keys: j / k move down / up the list, Enter opens the case, / goes to the search. "
                     "The list refreshes every 10 seconds.",
        "desk_st_active": "active (new, open, pending)", "desk_st_new": "new", "desk_st_open": "open",
        "desk_st_pending": "pending (waiting on the customer)", "desk_st_resolved": "resolved",
        "desk_st_closed": "closed",
        "desk_pr_low": "low", "desk_pr_normal": "normal", "desk_pr_high": "high", "desk_pr_urgent": "urgent",
        "desk_subject": "Subject", "desk_sla": "SLA", "desk_assignee": "Assignee", "desk_waiting": "Waiting since",
        "desk_sla_running": "on time", "desk_sla_at_risk": "at risk", "desk_sla_paused": "paused",
        "desk_sla_met": "met", "desk_sla_breached": "breached", "desk_sla_none": "no clock",
        "desk_t_first_response": "first response", "desk_t_next_response": "next response",
        "desk_t_resolution": "resolution",
        "desk_over": "over by {d}", "desk_left": "{d} left", "desk_due": "due {at} ({d} business time)",
        "desk_due_at": "due", "desk_me": "me", "desk_nobody": "nobody", "desk_empty": "No case matches these filters.",
        "desk_first": "First page", "desk_next": "Next page", "desk_refreshed": "Updated at",
        "desk_viewing": "{who} is viewing this case too.", "desk_back": "Inbox",
        "desk_changed": "New activity on this case since you opened it (shown on the page): "
                        "reload before acting.", "desk_reload": "Reload",
        "desk_merged_from": "Case {id} was merged into this one.",
        "desk_draft_kept": "Nothing was saved. Your text is kept in the composer below: check the case and send again.",
        "desk_conflict": "{who} {what} at {at} — reload to see it (the page below now shows it).",
        "desk_conflict_plain": "The case changed since you loaded it — the page below now shows it.",
        "desk_ev_reply": "replied", "desk_ev_wrote": "wrote", "desk_ev_note": "added a note",
        "desk_ev_status": "changed the status", "desk_ev_assigned": "assigned the case",
        "desk_ev_priority": "changed the priority", "desk_ev_closed": "closed the case",
        "desk_reopened": "reopened {n}×", "desk_opened": "Opened", "desk_disposition": "Disposition",
        "desk_disp_solved": "solved", "desk_disp_answered": "answered", "desk_disp_workaround": "workaround",
        "desk_disp_duplicate": "duplicate", "desk_disp_no_reply": "no reply", "desk_disp_spam": "spam",
        "desk_disp_other": "other", "desk_asked": "“anything else?” asked",
        "desk_sla_help": "Due times are Paris time; remaining time counts business hours only "
                         "(Mon–Fri 09:00–18:00, public holidays closed). Pending pauses the clocks.",
        "desk_suggested": "This may be the same issue as case {id}", "desk_link_yes": "Same issue: merge into it",
        "desk_link_no": "Not the same", "desk_customer": "Customer", "desk_note": "internal note",
        "desk_refused": "refused", "desk_files": "Files",
        "desk_delivery_failed": "Not delivered to {to}", "desk_delivery_delayed": "Delivery to {to} delayed",
        "desk_pipeline": "Sales pipeline", "desk_pipeline_n": "opportunities flagged by agents",
        "desk_pipeline_sum": "estimated over the {n} with an amount",
        "desk_pipeline_help": "Flagged by agents when closing a case (“Sales opportunity”), newest first.",
        "desk_pipeline_empty": "No opportunity flagged yet: agents flag them when closing a case.",
        "desk_agent": "Agent", "desk_pipeline_latest": "The latest {n} are listed; the totals count them all.",
        "desk_contact_title": "Log a store visit or a call",
        "desk_contact_help": "What a customer said in the store or on the phone lands on their open case about it "
                             "(or a new one), with their whole history — so nobody asks them twice.",
        "desk_contact_who": "Customer's e-mail or phone number",
        "desk_contact_who_help": "Any address or number they gave: the desk finds the person across channels.",
        "desk_contact_subject": "Subject (optional)", "desk_contact_text": "What they said",
        "desk_contact_send": "Save the contact",
        "desk_split": "Two issues in one thread?", "desk_split_pick": "move to a new case",
        "desk_split_help": "Tick the messages about the other issue (“move to a new case”): they go to a new case "
                           "of the same person, with their history.",
        "desk_split_subject": "Subject of the new case", "desk_split_btn": "Split off",
        "desk_no_team": "no team", "desk_route": "Hand over", "desk_ag_online": "online", "desk_ag_away": "away",
        "desk_ag_offline": "offline",
        "desk_route_help": "Each agent's status and active cases over capacity. A manual choice may go past "
                           "capacity or to an agent who is away: the case's history says so.",
        "desk_files_help": "Up to 20 files, 25 MB each and about 45 MB in all: images, PDF, text, office documents "
                           "(no programs).",
"desk_compose": "Write", "desk_public": "Reply to the customer",
        "desk_internal": "Internal note", "desk_message": "Message", "desk_then": "Then set the status",
        "desk_then_keep": "(unchanged)", "desk_closed_help": "The case is closed: only internal notes.",
        "desk_send": "Send", "desk_actions": "Actions", "desk_assign_me": "Assign to me", "desk_save": "Save",
        "desk_close": "Close the case", "desk_anything_else": "I asked “Is there anything else I can do for you?”",
        "desk_opportunity": "Sales opportunity", "desk_opportunity_flag": "Flag a sales opportunity",
        "desk_product": "Product", "desk_amount": "Amount (€)", "desk_close_btn": "Close for good",
        "desk_is_closed": "This case is closed for good. To write to the customer again, open a follow-up case.",
    },
    "fr": {
        "nav_desk": "Service client", "desk_title": "Service client", "desk_status": "Statut", "desk_team": "Équipe",
        "desk_priority": "Priorité", "desk_mine": "Assignés à moi",
        "desk_search": "Recherche (dossier, e-mail, téléphone, mots)",
        "desk_keys": "Clavier : j / k pour descendre / monter dans la liste, Entrée ouvre le dossier, / va à la "
                     "recherche. La liste se met à jour toutes les 10 secondes.",
        "desk_st_active": "actifs (nouveaux, ouverts, en attente)", "desk_st_new": "nouveau",
        "desk_st_open": "ouvert", "desk_st_pending": "en attente du client", "desk_st_resolved": "résolu",
        "desk_st_closed": "clos",
        "desk_pr_low": "basse", "desk_pr_normal": "normale", "desk_pr_high": "haute", "desk_pr_urgent": "urgente",
        "desk_subject": "Objet", "desk_sla": "Délais (SLA)", "desk_assignee": "Assigné à",
        "desk_waiting": "Attend depuis",
        "desk_sla_running": "dans les temps", "desk_sla_at_risk": "à risque", "desk_sla_paused": "en pause",
        "desk_sla_met": "tenu", "desk_sla_breached": "dépassé", "desk_sla_none": "sans délai",
        "desk_t_first_response": "première réponse", "desk_t_next_response": "réponse suivante",
        "desk_t_resolution": "résolution",
        "desk_over": "dépassé de {d}", "desk_left": "reste {d}", "desk_due": "échéance {at} ({d} ouvrées)",
        "desk_due_at": "échéance", "desk_me": "moi", "desk_nobody": "personne",
        "desk_empty": "Aucun dossier ne correspond à ces filtres.",
        "desk_first": "Première page", "desk_next": "Page suivante", "desk_refreshed": "Mis à jour à",
        "desk_viewing": "{who} consulte aussi ce dossier.", "desk_back": "Boîte de réception",
        "desk_changed": "Du nouveau sur ce dossier depuis que vous l’avez ouvert (affiché sur la page) : "
                        "rechargez avant d’agir.", "desk_reload": "Recharger",
        "desk_merged_from": "Le dossier {id} a été fusionné dans celui-ci.",
        "desk_draft_kept": "Rien n’a été enregistré. Votre texte est conservé ci-dessous : vérifiez le dossier "
                           "et renvoyez.",
        "desk_conflict": "{who} {what} à {at} — rechargez pour le voir (la page ci-dessous l’affiche déjà).",
        "desk_conflict_plain": "Le dossier a changé depuis son ouverture — la page ci-dessous est à jour.",
        "desk_ev_reply": "a répondu", "desk_ev_wrote": "a écrit", "desk_ev_note": "a ajouté une note",
        "desk_ev_status": "a changé le statut", "desk_ev_assigned": "a assigné le dossier",
        "desk_ev_priority": "a changé la priorité", "desk_ev_closed": "a clos le dossier",
        "desk_reopened": "rouvert {n} fois", "desk_opened": "Ouvert le", "desk_disposition": "Qualification",
        "desk_disp_solved": "résolu", "desk_disp_answered": "répondu", "desk_disp_workaround": "contournement",
        "desk_disp_duplicate": "doublon", "desk_disp_no_reply": "sans réponse", "desk_disp_spam": "indésirable",
        "desk_disp_other": "autre", "desk_asked": "« autre chose ? » demandé",
        "desk_sla_help": "Échéances à l’heure de Paris ; le temps restant ne compte que les heures ouvrées "
                         "(lun.–ven. 9 h–18 h, jours fériés fermés). L’attente du client met les délais en pause.",
        "desk_suggested": "C’est peut-être le même problème que le dossier {id}",
        "desk_link_yes": "Même problème : fusionner", "desk_link_no": "Pas le même",
        "desk_customer": "Client", "desk_note": "note interne", "desk_refused": "refusée",
        "desk_files": "Fichiers",
        "desk_delivery_failed": "Non remis à {to}", "desk_delivery_delayed": "Remise à {to} retardée",
        "desk_pipeline": "Opportunités commerciales", "desk_pipeline_n": "opportunités signalées par les agents",
        "desk_pipeline_sum": "estimés sur les {n} chiffrées",
        "desk_pipeline_help": "Signalées par les agents à la clôture d’un dossier (« Opportunité commerciale »), "
                              "les plus récentes d’abord.",
        "desk_pipeline_empty": "Aucune opportunité pour l’instant : les agents les signalent en clôturant un dossier.",
        "desk_agent": "Agent", "desk_pipeline_latest": "Les {n} plus récentes sont listées ; les totaux les comptent "
                                                       "toutes.",
        "desk_contact_title": "Saisir une visite en magasin ou un appel",
        "desk_contact_help": "Ce que le client a dit en magasin ou au téléphone rejoint son dossier ouvert sur le "
                             "sujet (ou un nouveau), avec tout son historique : personne ne lui redemande.",
        "desk_contact_who": "E-mail ou téléphone du client",
        "desk_contact_who_help": "Toute adresse ou numéro donné : le desk retrouve la personne sur tous les canaux.",
        "desk_contact_subject": "Objet (facultatif)", "desk_contact_text": "Ce qu’il a dit",
        "desk_contact_send": "Enregistrer le contact",
        "desk_split": "Deux sujets dans un même fil ?", "desk_split_pick": "déplacer vers un nouveau dossier",
        "desk_split_help": "Cochez les messages sur l’autre sujet (« déplacer vers un nouveau dossier ») : ils "
                           "rejoignent un nouveau dossier de la même personne, avec leur historique.",
        "desk_split_subject": "Objet du nouveau dossier", "desk_split_btn": "Séparer",
        "desk_no_team": "aucune équipe", "desk_route": "Confier", "desk_ag_online": "en ligne",
        "desk_ag_away": "absent·e", "desk_ag_offline": "hors ligne",
        "desk_route_help": "Statut de chaque agent et dossiers actifs sur sa capacité. Un choix manuel peut "
                           "dépasser la capacité ou viser un agent absent : l’historique du dossier le dit.",
        "desk_files_help": "Jusqu’à 20 fichiers, 25 Mo chacun et environ 45 Mo en tout : images, PDF, texte, "
                           "documents bureautiques (pas de programmes).",
        "desk_compose": "Écrire", "desk_public": "Répondre au client", "desk_internal": "Note interne",
        "desk_message": "Message", "desk_then": "Puis passer au statut", "desk_then_keep": "(inchangé)",
        "desk_closed_help": "Le dossier est clos : notes internes seulement.",
        "desk_send": "Envoyer", "desk_actions": "Actions", "desk_assign_me": "M’assigner", "desk_save": "Enregistrer",
        "desk_close": "Clore le dossier",
        "desk_anything_else": "J’ai demandé « Puis-je faire autre chose pour vous ? »",
        "desk_opportunity": "Opportunité commerciale", "desk_opportunity_flag": "Signaler une opportunité",
        "desk_product": "Produit", "desk_amount": "Montant (€)", "desk_close_btn": "Clore définitivement",
        "desk_is_closed": "Ce dossier est clos définitivement. Pour réécrire au client, ouvrez un dossier de suivi.",
    },
}
DESK_STRINGS["en"] |= {"desk_macro": "Canned reply", "desk_macro_send": "Send this reply"}
DESK_STRINGS["fr"] |= {"desk_macro": "Réponse type", "desk_macro_send": "Envoyer cette réponse"}
#: the chat's demo page
DESK_STRINGS["en"] |= {"chat_title": "Parcours — chat with us", "chat_intro": "A question about an order, a "
                       "delivery, a return? Our assistant answers at once, and an agent takes over when needed.",
                       "chat_other": "Français", "chat_other_lang": "fr"}
DESK_STRINGS["fr"] |= {"chat_title": "Parcours — discuter avec nous", "chat_intro": "Une question sur une "
                       "commande, une livraison, un retour ? Notre assistant répond tout de suite, et un conseiller "
                       "prend le relais si besoin.", "chat_other": "English", "chat_other_lang": "en"}
for _lang, _strings in DESK_STRINGS.items():
    STRINGS[_lang].update(_strings)

#: the voice of the customer (survey pages, themes, loop, employees, silent customers), merged below
VOICE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "sv_title": "One question, 30 seconds", "sv_step1": "Step 1 of 2", "sv_step2": "Step 2 of 2",
        "sv_low": "not at all likely", "sv_high": "extremely likely", "sv_low_sat": "very dissatisfied",
        "sv_high_sat": "very satisfied", "sv_low_ces": "strongly disagree", "sv_high_ces": "strongly agree",
        "sv_next": "Next", "sv_send": "Send", "sv_skip": "Send without a comment", "sv_your_score": "Your score",
        "sv_change": "change it", "sv_why_help": "Optional, a few words are enough. At most 5,000 characters.",
        "sv_thanks": "Thank you!", "sv_thanks_text": "Your answer was received. It is read by a person, "
        "and if something went wrong, someone from our team will get back to you.",
        "sv_thanks_plain": "Your answer was received. It helps us do better.",
        "sv_answered": "You have already answered this survey. Thank you!",
        "sv_expired": "This survey link has expired. Thank you for your time all the same.",
        "sv_invalid": "This survey link is not valid. Check that it was copied whole.",
        "sv_stop": "No more surveys", "sv_stop_q": "Do you want to stop receiving our surveys?",
        "sv_stop_yes": "Yes, no more surveys", "sv_stopped": "Done: you will not receive our surveys any more.",
        "sv_error": "Please check your answer", "sv_comment_lang": "Language of your comment",
        # voice page (manager)
        "themes": "Themes of the comments", "themes_help": "What customers talk about, how they feel about "
        "it (negative share), and the NPS of those who mention it. Most mentioned first; open a theme to read "
        "its comments.", "theme": "Theme", "mentions": "mentions", "negative": "negative",
        "positive": "positive", "neutral": "neutral", "examples": "Examples", "no_analysis": "No comment analysed "
        "yet for these filters.", "sentiment": "Tone", "tone_help": "Tone of the comments (lexicon-based "
        "sentiment, French and English).", "loop_title": "Closing the loop",
        "loop_help": "Detractors, low CSAT or CES and negative comments open a case in the desk. Closed: the "
        "case is resolved.", "loop_opened": "cases opened", "loop_closed": "closed",
        "loop_rate": "closure rate", "loop_time": "median time to close", "loop_first": "median time to "
        "call back", "hours": "h", "problems": "Problems (outer loop)", "problems_help": "Themes that keep "
        "coming back, tracked with their root cause, action and owner.", "root_cause": "Root cause",
        "action": "Action", "owner": "Owner", "status": "Status", "title_f": "Title", "save": "Save",
        "new_problem": "Track a theme as a problem", "no_problems": "No problem tracked yet.",
        "employees": "Employees' voice", "employees_help": "eNPS of the people who serve the customers "
        "(once a quarter, pseudonymous) and their suggestions, beside the customers' NPS.",
        "enps": "eNPS", "customers_nps": "Customers' NPS", "suggestions": "Suggestions",
        "no_employee_answers": "No employee answer yet.", "answer_enps": "Give your answer for this quarter",
        "enps_done": "Thank you: your answer for this quarter is recorded.",
        "silent": "Silent customers", "silent_help": "Of the customers active in the period, the share who "
        "answered a survey. A silent customer is not a satisfied one.", "coverage": "coverage",
        "active_persons": "active customers", "answered_persons": "answered", "never_answered": "active "
        "customers with contacts who never answered", "bias_flattered": "Non-response bias: customers who do "
        "not answer had more failed contacts ({silent} vs {resp}); the scores probably flatter reality.",
        "bias_understated": "Non-response bias: customers who do not answer had fewer failed contacts ({silent} "
        "vs {resp}); the scores may understate reality.", "bias_similar": "Respondents and silent customers "
        "had similar shares of failed contacts ({silent} vs {resp}): no sign of a strong non-response bias.",
        "response_rate": "response rate", "invitations": "invitations", "surveys_title": "Surveys",
        "by_survey": "Response rate by survey", "survey": "Survey", "delivered": "delivered",
        "answered_inv": "answered", "interval95": "95 % interval",
        "surveys_help": "What is asked, when, on which channel. Contact rules: one survey per person per 30 "
        "days at most, 4 a year, none while a request is open, never to those who unsubscribed.",
        "trigger": "Trigger", "active": "Active", "on": "on", "off": "off", "switch_on": "Switch on",
        "switch_off": "Switch off", "topics": "Other subjects", "topics_help": "What the latest comments that "
        "no theme caught talk about, grouped by the words they share (named after their strongest words).",
    },
    "fr": {
        "sv_title": "Une question, 30 secondes", "sv_step1": "Étape 1 sur 2", "sv_step2": "Étape 2 sur 2",
        "sv_low": "pas du tout probable", "sv_high": "très probable", "sv_low_sat": "très insatisfait",
        "sv_high_sat": "très satisfait", "sv_low_ces": "pas du tout d’accord", "sv_high_ces": "tout à fait d’accord",
        "sv_next": "Suivant", "sv_send": "Envoyer", "sv_skip": "Envoyer sans commentaire",
        "sv_your_score": "Votre note", "sv_change": "la changer",
        "sv_why_help": "Facultatif, quelques mots suffisent. 5 000 caractères au plus.",
        "sv_thanks": "Merci !", "sv_thanks_text": "Votre réponse est bien reçue. Elle est lue par une personne, "
        "et si quelque chose s’est mal passé, quelqu’un de notre équipe reviendra vers vous.",
        "sv_thanks_plain": "Votre réponse est bien reçue. Elle nous aide à faire mieux.",
        "sv_answered": "Vous avez déjà répondu à ce questionnaire. Merci !",
        "sv_expired": "Ce lien a expiré. Merci quand même pour votre temps.",
        "sv_invalid": "Ce lien n’est pas valide. Vérifiez qu’il a été copié en entier.",
        "sv_stop": "Ne plus recevoir de questionnaires", "sv_stop_q": "Voulez-vous ne plus recevoir nos "
        "questionnaires ?", "sv_stop_yes": "Oui, plus de questionnaires",
        "sv_stopped": "C’est fait : vous ne recevrez plus nos questionnaires.",
        "sv_error": "Vérifiez votre réponse", "sv_comment_lang": "Langue de votre commentaire",
        "themes": "Thèmes des commentaires", "themes_help": "Ce dont parlent les clients, ce qu’ils en "
        "ressentent (part négative) et le NPS de ceux qui en parlent. Les plus cités d’abord ; ouvrez un thème "
        "pour lire ses commentaires.", "theme": "Thème", "mentions": "mentions", "negative": "négatif",
        "positive": "positif", "neutral": "neutre", "examples": "Exemples",
        "no_analysis": "Aucun commentaire analysé pour ces filtres.", "sentiment": "Tonalité",
        "tone_help": "Tonalité des commentaires (sentiment par lexique, français et anglais).",
        "loop_title": "Boucler la boucle", "loop_help": "Détracteurs, CSAT ou CES faibles et commentaires "
        "négatifs ouvrent un dossier au service client. Bouclé : le dossier est résolu.",
        "loop_opened": "dossiers ouverts", "loop_closed": "bouclés", "loop_rate": "taux de bouclage",
        "loop_time": "délai médian de bouclage", "loop_first": "délai médian de rappel", "hours": "h",
        "problems": "Problèmes (boucle externe)", "problems_help": "Les thèmes qui reviennent, suivis avec leur "
        "cause racine, l’action et un responsable.", "root_cause": "Cause racine", "action": "Action",
        "owner": "Responsable", "status": "Statut", "title_f": "Titre", "save": "Enregistrer",
        "new_problem": "Suivre un thème comme problème", "no_problems": "Aucun problème suivi pour l’instant.",
        "employees": "Voix des collaborateurs", "employees_help": "eNPS de celles et ceux qui servent les "
        "clients (une fois par trimestre, sous pseudonyme) et leurs suggestions, à côté du NPS des clients.",
        "enps": "eNPS", "customers_nps": "NPS des clients", "suggestions": "Suggestions",
        "no_employee_answers": "Aucune réponse de collaborateur pour l’instant.",
        "answer_enps": "Donner votre réponse pour ce trimestre",
        "enps_done": "Merci : votre réponse pour ce trimestre est enregistrée.",
        "silent": "Clients silencieux", "silent_help": "Parmi les clients actifs sur la période, la part qui a "
        "répondu à un questionnaire. Un client silencieux n’est pas un client satisfait.",
        "coverage": "couverture", "active_persons": "clients actifs", "answered_persons": "ont répondu",
        "never_answered": "clients actifs ayant eu des contacts et n’ayant jamais répondu",
        "bias_flattered": "Biais de non-réponse : les clients qui ne répondent pas ont eu plus de contacts en "
        "échec ({silent} contre {resp}) ; les notes embellissent sans doute la réalité.",
        "bias_understated": "Biais de non-réponse : les clients qui ne répondent pas ont eu moins de contacts "
        "en échec ({silent} contre {resp}) ; les notes sous-estiment peut-être la réalité.",
        "bias_similar": "Répondants et silencieux ont des parts de contacts en échec proches ({silent} contre "
        "{resp}) : pas de signe d’un fort biais de non-réponse.", "response_rate": "taux de réponse",
        "by_survey": "Taux de réponse par questionnaire",
        "survey": "Questionnaire", "delivered": "envoyées", "answered_inv": "répondues",
        "interval95": "intervalle à 95 %",
        "invitations": "invitations", "surveys_title": "Questionnaires", "surveys_help": "Ce qui est demandé, "
        "quand, sur quel canal. Règles de contact : un questionnaire par personne tous les 30 jours au plus, "
        "4 par an, aucun pendant une demande en cours, jamais à qui s’est désinscrit.",
        "trigger": "Déclencheur", "active": "Actif", "on": "actif", "off": "inactif", "switch_on": "Activer",
        "switch_off": "Désactiver", "topics": "Autres sujets", "topics_help": "Ce dont parlent les derniers "
        "commentaires qu’aucun thème n’a retenus, regroupés par les mots qu’ils partagent (nommés d’après les "
        "plus marquants).",
    },
}
for _lang, _strings in VOICE_STRINGS.items():
    STRINGS[_lang].update(_strings)

#: acting before the problem (/act): rules, firings, notifications, outreach
ACT_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "nav_act": "Act", "act_title": "Act before the problem", "act_help": "Rules watch what is stored and "
        "what has gone on too long, and act: open or update a case, send a survey or a message, call a webhook, "
        "tell a team. Back-test a rule on past data before switching it on; every firing is kept with its reason.",
        "act_churn": "Churn risk", "act_promises": "Promises kept", "act_maturity": "Maturity",
        "act_whatif": "What-if", "act_rules": "Rules", "act_rule": "Rule", "act_subject": "About",
        "act_when": "When", "act_action": "Do", "act_fired": "Fired", "act_from_file": "from a file",
        "act_error": "Last error", "act_no_rules": "No rule yet: write the first one below.",
        "act_new_rule": "Write a rule", "act_id": "Id", "act_name": "Name", "act_fields": "Fields a condition "
        "may name", "act_syntax": "Combine comparisons (= != < <= > >=, in (…), is null, contains '…') with and, "
        "or, not. Durations: 30m, 48h, 5d, 2w. Example: channels(48h) >= 2 and kind = 'contact'.",
        "act_params": "Parameters (JSON)", "act_repeat": "Fire again after", "act_actions_help": "Actions and "
        "their parameters (* required)", "act_save_rule": "Save the rule", "act_saved_off": "A new rule is saved "
        "switched off: back-test it first.", "act_firings": "Latest firings", "act_when_fired": "When",
        "act_reason": "Why", "act_result": "What came of it", "act_no_firings": "No firing yet.",
        "act_notifications": "Teams told", "act_no_notifications": "No notification yet.",
        "act_outreach": "Outreach customers welcome", "act_outreach_help": "Each proactive practice carries how "
        "customers rate it. A contact-pressure budget caps proactive contacts per person; when it runs short, "
        "the lowest-rated practices are the first to go.", "act_practice": "Practice", "act_rating": "Rated (1–5)",
        "act_queued": "Queued", "act_sent": "Sent", "act_held": "Held back", "act_rating_source": "Ratings: Genesys "
        "survey of 1,000 web users, from 1 (very annoying) to 5 (very useful), quoted in seed 003.",
        "act_budget": "Proactive contacts per person", "act_per_days": "per days", "act_reserve": "kept for welcome "
        "practices", "act_welcome": "welcome from rating", "act_effect": "Effect on answers",
        "act_reached": "Reached", "act_held_back": "Held back", "act_difference": "Difference [95 %]",
        "act_no_outreach": "No outreach decided yet.", "act_effect_help": "NPS of answers given within 30 days "
        "after the decision. Persons held back by the budget had had more outreach: read the difference as "
        "evidence, not proof.", "act_since": "since", "act_backtest": "Back-test",
        "act_backtest_help": "How often this rule would have fired over a past period: events by their own "
        "time, cases and promises as they stood at each day's check point.", "act_run_backtest": "Back-test",
        "act_would_fire": "This rule would have fired {n} times ({persons} persons).", "act_by_day": "by day",
        "act_check_points": "check points",
    },
    "fr": {
        "nav_act": "Agir", "act_title": "Agir avant le problème", "act_help": "Les règles surveillent ce qui "
        "arrive et ce qui traîne, et agissent : ouvrir ou compléter une demande, envoyer un questionnaire ou un "
        "message, appeler un webhook, prévenir une équipe. Testez une règle sur le passé avant de l’activer ; "
        "chaque déclenchement est gardé avec sa raison.",
        "act_churn": "Risque de départ", "act_promises": "Promesses tenues", "act_maturity": "Maturité",
        "act_whatif": "Et si…", "act_rules": "Règles", "act_rule": "Règle", "act_subject": "Sur",
        "act_when": "Quand", "act_action": "Faire", "act_fired": "Déclenchée", "act_from_file": "d’un fichier",
        "act_error": "Dernière erreur", "act_no_rules": "Aucune règle : écrivez la première ci-dessous.",
        "act_new_rule": "Écrire une règle", "act_id": "Identifiant", "act_name": "Nom",
        "act_fields": "Champs qu’une condition peut nommer", "act_syntax": "Combinez des comparaisons (= != < <= "
        "> >=, in (…), is null, contains '…') avec and, or, not. Durées : 30m, 48h, 5d, 2w. Exemple : "
        "channels(48h) >= 2 and kind = 'contact'.", "act_params": "Paramètres (JSON)",
        "act_repeat": "Redéclencher après", "act_actions_help": "Actions et leurs paramètres (* obligatoire)",
        "act_save_rule": "Enregistrer la règle", "act_saved_off": "Une nouvelle règle est enregistrée inactive : "
        "testez-la d’abord.", "act_firings": "Derniers déclenchements", "act_when_fired": "Quand",
        "act_reason": "Pourquoi", "act_result": "Suite donnée", "act_no_firings": "Aucun déclenchement.",
        "act_notifications": "Équipes prévenues", "act_no_notifications": "Aucune notification.",
        "act_outreach": "Des sollicitations bienvenues", "act_outreach_help": "Chaque pratique proactive porte la "
        "note que lui donnent les clients. Un budget de pression commerciale plafonne les contacts proactifs par "
        "personne ; quand il manque, les pratiques les moins bien notées passent en dernier.",
        "act_practice": "Pratique", "act_rating": "Note (1–5)", "act_queued": "En attente", "act_sent": "Envoyés",
        "act_held": "Retenus", "act_rating_source": "Notes : enquête Genesys auprès de 1 000 internautes, de 1 "
        "(très agaçant) à 5 (très utile), citée dans la source 003.", "act_budget": "Contacts proactifs par "
        "personne", "act_per_days": "sur (jours)", "act_reserve": "réservés aux pratiques bienvenues",
        "act_welcome": "bienvenue à partir de la note", "act_effect": "Effet sur les réponses",
        "act_reached": "Contactés", "act_held_back": "Retenus", "act_difference": "Écart [95 %]",
        "act_no_outreach": "Aucune sollicitation décidée.", "act_effect_help": "NPS des réponses données dans "
        "les 30 jours suivant la décision. Les personnes retenues par le budget avaient déjà été plus sollicitées : "
        "l’écart est un indice, pas une preuve.", "act_since": "depuis", "act_backtest": "Test sur le passé",
        "act_backtest_help": "Combien de fois cette règle se serait déclenchée sur une période passée : les "
        "événements à leur date, les demandes et promesses telles qu’elles étaient à chaque point de contrôle "
        "quotidien.", "act_run_backtest": "Tester", "act_would_fire": "Cette règle se serait déclenchée {n} fois "
        "({persons} personnes).", "act_by_day": "par jour", "act_check_points": "points de contrôle",
    },
}
for _lang, _strings in ACT_STRINGS.items():
    STRINGS[_lang].update(_strings)

from parcours.web.i18n_maturity import MATURITY_STRINGS  # noqa: E402  (their own files, merged here)
from parcours.web.i18n_promises import PROMISES_STRINGS  # noqa: E402
from parcours.web.i18n_whatif import WHATIF_STRINGS  # noqa: E402

for _more in (PROMISES_STRINGS, MATURITY_STRINGS, WHATIF_STRINGS):
    for _lang, _strings in _more.items():
        STRINGS[_lang].update(_strings)

#: churn risk (/act/churn, and the agent's panel on a case)
CHURN_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "churn_title": "Churn risk", "churn_help": "Each customer's probability of leaving over the next 90 days, "
        "from behaviour (recency, frequency, value, contacts, unresolved issues, channel hops, scores, comments' "
        "tone), with the three reasons that raise it most, and the customer value at risk.",
        "churn_model": "The model", "churn_base_brier": "guessing the base rate:",
        "churn_model_help": "Measured on {holdout} customers kept out of training (of {persons}); {base} % "
        "churned within {horizon} days after {as_of}. AUC with its 95 % DeLong interval; a calibrated model's "
        "points follow the diagonal.", "churn_calibration": "Calibration: predicted vs observed churn",
        "churn_predicted": "predicted", "churn_observed": "observed",
        "churn_no_model": "No model yet: train one on the store's history.", "churn_train": "Train and score",
        "churn_train_help": "Trains on the history (cut-off 90 days before the data end), then scores every "
        "customer as the data stand.", "churn_value": "Customer value at risk",
        "churn_value_line": "{lost} € of expected customer value may be lost; {n} of {persons} customers are "
        "above {threshold} % risk, worth {clv} €.", "churn_at_risk": "at risk", "churn_mean_risk": "mean risk",
        "churn_expected_lost": "expected loss (Σ CLV × risk)", "churn_clv_at_risk": "CLV of those at risk",
        "churn_people": "Customers at risk, most valuable first", "churn_threshold": "Risk from",
        "churn_person": "Customer", "churn_risk": "Churn risk", "churn_clv": "CLV", "churn_why": "Why",
        "churn_nobody": "Nobody above this risk.", "churn_training": "Training since {since} ({step}): reload "
        "the page to follow it.", "churn_failed": "The last training failed", "churn_done": "Trained: held-out AUC "
        "{auc}, {n} customers scored.",
    },
    "fr": {
        "churn_title": "Risque de départ", "churn_help": "La probabilité que chaque client parte dans les 90 "
        "prochains jours, d’après son comportement (récence, fréquence, valeur, contacts, problèmes non résolus, "
        "changements de canal, notes, ton des commentaires), avec les trois raisons qui la font le plus monter, "
        "et la valeur client en jeu.", "churn_model": "Le modèle", "churn_base_brier": "en devinant le taux moyen :",
        "churn_model_help": "Mesuré sur {holdout} clients tenus à l’écart de l’apprentissage (sur {persons}) ; "
        "{base} % sont partis dans les {horizon} jours suivant le {as_of}. AUC avec son intervalle de DeLong à "
        "95 % ; les points d’un modèle bien calibré suivent la diagonale.",
        "churn_calibration": "Calibration : départs prédits et observés", "churn_predicted": "prédit",
        "churn_observed": "observé", "churn_no_model": "Pas encore de modèle : entraînez-en un sur l’historique.",
        "churn_train": "Entraîner et noter", "churn_train_help": "Apprend sur l’historique (date de coupure 90 "
        "jours avant la fin des données), puis note chaque client tel qu’il est aujourd’hui.",
        "churn_value": "Valeur client en jeu", "churn_value_line": "{lost} € de valeur client attendue pourraient "
        "être perdus ; {n} clients sur {persons} dépassent {threshold} % de risque, pour {clv} €.",
        "churn_at_risk": "à risque", "churn_mean_risk": "risque moyen",
        "churn_expected_lost": "perte attendue (Σ CLV × risque)", "churn_clv_at_risk": "CLV des clients à risque",
        "churn_people": "Clients à risque, les plus précieux d’abord", "churn_threshold": "Risque à partir de",
        "churn_person": "Client", "churn_risk": "Risque de départ", "churn_clv": "CLV", "churn_why": "Pourquoi",
        "churn_nobody": "Personne au-dessus de ce risque.", "churn_training": "Apprentissage en cours depuis "
        "{since} ({step}) : rechargez la page pour le suivre.", "churn_failed": "Le dernier apprentissage a échoué",
        "churn_done": "Appris : AUC sur clients tenus à l’écart {auc}, {n} clients notés.",
    },
}
for _lang, _strings in CHURN_STRINGS.items():
    STRINGS[_lang].update(_strings)
