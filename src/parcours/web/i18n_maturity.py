"""French and English of the maturity page (``/act/maturity``), merged into ``STRINGS`` of
:mod:`parcours.web.i18n`."""

from __future__ import annotations

MATURITY_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "mat_title": "Customer-experience maturity",
        "mat_help": "Where the company stands on Ovum's four levels, measured on its own data, and on "
                    "Temkin's four competencies, by your own self-assessment (seed 003).",
        "mat_period": "Period", "mat_show": "Show",
        "mat_level": "Level", "mat_of": "of",
        "mat_next": "To reach the next level", "mat_top": "The highest level is reached.",
        "mat_criteria": "The evidence, criterion by criterion",
        "mat_criteria_help": "Each criterion is measured on the store; a gap counts only when it is beyond the "
                             "threshold and its 95 % interval excludes zero. Thresholds and formulas: "
                             "docs/maturity.md.",
        "mat_criterion": "Criterion", "mat_measure": "Measure", "mat_value": "Value", "mat_threshold": "Threshold",
        "mat_n": "n", "mat_result": "Result", "mat_pass": "met", "mat_fail": "not met",
        "mat_evidence": "Evidence", "mat_todo": "What to do", "mat_needed_for": "needed for level",
        "mat_temkin": "Temkin's four competencies",
        "mat_temkin_help": "Culture does not show in the data: answer each statement from 1 (strongly disagree) "
                           "to 5 (strongly agree). A competency's score is 100 · (mean − 1) / 4.",
        "mat_no_assessment": "No self-assessment yet: answer the statements below.",
        "mat_assessed": "Latest self-assessment", "mat_by": "by",
        "mat_weakest": "weakest",
        "mat_form": "Self-assessment", "mat_send": "Save the self-assessment",
        "mat_scale_1": "strongly disagree", "mat_scale_5": "strongly agree",
        "mat_saved": "The self-assessment is saved.",
        "mat_advice": "Advice for the weakest points",
        "mat_advice_help": "Bruce Temkin's tips (tips 1–80 of 100: the seed holds parts 1–4 only), in English "
                           "translated back from ContactDistance's French translation.",
        "mat_no_advice": "No weak point: every criterion is met and no competency is weak.",
        "mat_tip": "Tip", "mat_for_criterion": "for the criterion", "mat_for_competency": "for the competency",
        "mat_source": "Sources: Ovum's four levels and Bruce Temkin's competencies and tips, seed 003.",
    },
    "fr": {
        "mat_title": "Maturité de l’expérience client",
        "mat_help": "Où en est l’entreprise sur les quatre niveaux d’Ovum, mesurés sur ses propres données, "
                    "et sur les quatre compétences de Temkin, par votre auto-évaluation (seed 003).",
        "mat_period": "Période", "mat_show": "Afficher",
        "mat_level": "Niveau", "mat_of": "sur",
        "mat_next": "Pour atteindre le niveau suivant", "mat_top": "Le plus haut niveau est atteint.",
        "mat_criteria": "Les preuves, critère par critère",
        "mat_criteria_help": "Chaque critère est mesuré sur les données ; un écart ne compte que s’il dépasse "
                             "le seuil et que son intervalle à 95 % exclut zéro. Seuils et formules : "
                             "docs/maturity.md.",
        "mat_criterion": "Critère", "mat_measure": "Mesure", "mat_value": "Valeur", "mat_threshold": "Seuil",
        "mat_n": "n", "mat_result": "Résultat", "mat_pass": "atteint", "mat_fail": "non atteint",
        "mat_evidence": "Preuves", "mat_todo": "Que faire", "mat_needed_for": "requis pour le niveau",
        "mat_temkin": "Les quatre compétences de Temkin",
        "mat_temkin_help": "La culture ne se voit pas dans les données : notez chaque affirmation de 1 (pas du "
                           "tout d’accord) à 5 (tout à fait d’accord). Le score d’une compétence vaut "
                           "100 · (moyenne − 1) / 4.",
        "mat_no_assessment": "Pas encore d’auto-évaluation : répondez aux affirmations ci-dessous.",
        "mat_assessed": "Dernière auto-évaluation", "mat_by": "par",
        "mat_weakest": "la plus faible",
        "mat_form": "Auto-évaluation", "mat_send": "Enregistrer l’auto-évaluation",
        "mat_scale_1": "pas du tout d’accord", "mat_scale_5": "tout à fait d’accord",
        "mat_saved": "L’auto-évaluation est enregistrée.",
        "mat_advice": "Conseils pour les points faibles",
        "mat_advice_help": "Les enseignements de Bruce Temkin (1 à 80 sur 100 : le seed ne contient que les "
                           "parties 1 à 4), dans la traduction de ContactDistance.",
        "mat_no_advice": "Aucun point faible : tous les critères sont atteints et aucune compétence n’est faible.",
        "mat_tip": "Enseignement", "mat_for_criterion": "pour le critère", "mat_for_competency": "pour la compétence",
        "mat_source": "Sources : les quatre niveaux d’Ovum, les compétences et enseignements de Bruce Temkin, "
                      "seed 003.",
    },
}
