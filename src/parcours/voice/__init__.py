"""Voice of the customer: short surveys, their links and answers, the verbatims' analysis,
closing the loop, the employees' voice and the silent customers (docs/surveys.md).

* :mod:`.surveys` — survey definitions (NPS, CSAT, CES, custom; French and English);
* :mod:`.invitations` — the moments that trigger a survey and the contact rules;
* :mod:`.tokens` — signed, single-use, expiring links;
* :mod:`.answers` — the two-step answer (score, then why), saved at each step;
* :mod:`.delivery` — e-mail, SMS and widget delivery; the background runner;
* :mod:`.analysis` — the store's verbatims through ``parcours.text.verbatims``;
* :mod:`.loop` — inner loop (cases) and outer loop (problems), closure rate and time;
* :mod:`.employees` — eNPS and suggestions;
* :mod:`.coverage` — who answers, who never does, non-response bias.
"""
