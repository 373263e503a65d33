"""The what-if page's texts (``/act/whatif``), in English and French; merged into ``i18n.STRINGS``."""

from __future__ import annotations

WHATIF_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "whatif_title": "What if…",
        "whatif_intro": "A journey model fit on your service episodes (which channel customers start on, how "
                        "often each channel settles the issue, who gives up, where they try next) and on the NPS "
                        "answers linked to them. Change one thing and see what moves, with 95 % intervals.",
        "whatif_question": "The question",
        "whatif_channel": "Channel",
        "whatif_resolve": "Resolution on a contact (points)",
        "whatif_resolve_help": "+10: the channel settles the issue 10 points more often.",
        "whatif_scope": "Which contacts",
        "whatif_scope_every": "every contact on the channel",
        "whatif_scope_first": "only the first contact of an episode",
        "whatif_give_up": "Giving up after an unresolved contact (points)",
        "whatif_shift": "Episodes moved to start elsewhere (% of those starting on the channel)",
        "whatif_shift_to": "Start instead on",
        "whatif_none": "—",
        "whatif_desc_resolve": "{channel}: resolution {points} points on {scope}",
        "whatif_desc_give_up": "{channel}: giving up {points} points",
        "whatif_desc_shift": "{share} % of the episodes starting on {src} start on {dst}",
        "whatif_desc_none": "no change (the model against the data)",
        "whatif_ask": "Ask the model",
        "whatif_answer": "The answer",
        "whatif_based_on": "Based on {episodes} episodes and {answers} NPS answers; {draws} bootstrap draws.",
        "whatif_figure": "Figure",
        "whatif_observed": "In the data",
        "whatif_baseline": "Model, today",
        "whatif_scenario": "Model, scenario",
        "whatif_change": "Change",
        "whatif_change_ci": "95 % interval of the change",
        "whatif_period_ci": "In a period like this one",
        "whatif_period_help": "Expected change: the model's uncertainty (bootstrap over episodes and answers). "
                              "In a period like this one: adds the chance of one period with as many episodes "
                              "and answers — the range a before/after comparison would show.",
        "whatif_contacts_per_1000": "Contacts per 1,000 episodes",
        "whatif_contacts_period": "Contacts in the period",
        "whatif_all_channels": "All channels",
        "whatif_episodes_nps": "Episodes and NPS",
        "whatif_calls_gone": "Calls that disappear in the period",
        "whatif_calls_more": "Calls added in the period",
        "whatif_fig_give_up": "Episodes given up",
        "whatif_fig_one_done": "Settled at the first contact",
        "whatif_fig_nps": "NPS",
        "whatif_chart": "Change in contacts per 1,000 episodes, by channel (95 % interval)",
        "whatif_chart_axis": "Change per 1,000 episodes",
        "whatif_error": "The model cannot answer this",
        "whatif_notes": "Notes",
        "whatif_model": "The model",
        "whatif_model_help": "An absorbing Markov chain over contacts, fit on this store's data: it assumes the next "
                             "step depends only on the current contact's channel and outcome, and that a change "
                             "leaves everything else as it is (who has issues, when, and how they switch). "
                             "See docs/whatif.md.",
    },
    "fr": {
        "whatif_title": "Et si…",
        "whatif_intro": "Un modèle des parcours ajusté sur vos épisodes de service (le canal par lequel les clients "
                        "commencent, la fréquence à laquelle chaque canal règle la demande, qui abandonne, où l’on "
                        "réessaie) et sur les réponses NPS qui s’y rattachent. Changez une chose et voyez ce qui "
                        "bouge, avec des intervalles à 95 %.",
        "whatif_question": "La question",
        "whatif_channel": "Canal",
        "whatif_resolve": "Résolution à un contact (points)",
        "whatif_resolve_help": "+10 : le canal règle la demande 10 points plus souvent.",
        "whatif_scope": "Quels contacts",
        "whatif_scope_every": "chaque contact sur le canal",
        "whatif_scope_first": "seulement le premier contact d’un épisode",
        "whatif_give_up": "Abandon après un contact non résolu (points)",
        "whatif_shift": "Épisodes déplacés vers un autre premier canal (% de ceux qui commencent sur le canal)",
        "whatif_shift_to": "Commencer plutôt par",
        "whatif_none": "—",
        "whatif_desc_resolve": "{channel} : résolution {points} points sur {scope}",
        "whatif_desc_give_up": "{channel} : abandon {points} points",
        "whatif_desc_shift": "{share} % des épisodes qui commencent par {src} commencent par {dst}",
        "whatif_desc_none": "aucun changement (le modèle face aux données)",
        "whatif_ask": "Interroger le modèle",
        "whatif_answer": "La réponse",
        "whatif_based_on": "Sur {episodes} épisodes et {answers} réponses NPS ; {draws} tirages bootstrap.",
        "whatif_figure": "Indicateur",
        "whatif_observed": "Dans les données",
        "whatif_baseline": "Modèle, aujourd’hui",
        "whatif_scenario": "Modèle, scénario",
        "whatif_change": "Variation",
        "whatif_change_ci": "Intervalle à 95 % de la variation",
        "whatif_period_ci": "Sur une période comme celle-ci",
        "whatif_period_help": "Variation attendue : l’incertitude du modèle (bootstrap sur les épisodes et les "
                              "réponses). Sur une période comme celle-ci : y ajoute le hasard d’une période avec "
                              "autant d’épisodes et de réponses — l’écart qu’une comparaison avant/après montrerait.",
        "whatif_contacts_per_1000": "Contacts pour 1 000 épisodes",
        "whatif_contacts_period": "Contacts sur la période",
        "whatif_all_channels": "Tous canaux",
        "whatif_episodes_nps": "Épisodes et NPS",
        "whatif_calls_gone": "Appels évités sur la période",
        "whatif_calls_more": "Appels en plus sur la période",
        "whatif_fig_give_up": "Épisodes abandonnés",
        "whatif_fig_one_done": "Réglés au premier contact",
        "whatif_fig_nps": "NPS",
        "whatif_chart": "Variation des contacts pour 1 000 épisodes, par canal (intervalle à 95 %)",
        "whatif_chart_axis": "Variation pour 1 000 épisodes",
        "whatif_error": "Le modèle ne peut pas répondre à cette question",
        "whatif_notes": "Remarques",
        "whatif_model": "Le modèle",
        "whatif_model_help": "Une chaîne de Markov absorbante sur les contacts, ajustée sur les données de cette "
                             "base : l’étape suivante ne dépend que du canal et de l’issue du contact en cours, et un "
                             "changement laisse tout le reste en l’état (qui a des demandes, quand, et comment on "
                             "change de canal). Voir docs/whatif.md.",
    },
}
