"""Words of the demo world: names, message bodies, subjects and survey verbatims (fr, en).

Every list here is indexed by the generator with integer codes, so the order of the
entries is part of the output: append, do not reorder, or seeds stop reproducing.
Verbatims are built as *opener + reason + closer*; the reason says what happened
(wait, transfers, a kind agent, a late parcel…), the opener and closer carry the tone.
"""

from __future__ import annotations

import unicodedata

LANGS = ("fr", "en")
TOPICS = ("billing", "delivery", "product", "account", "returns", "technical")

FIRST_NAMES = {
    "fr": (
        "Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Sarah", "Julie", "Laura", "Marie",
        "Anne", "Isabelle", "Nathalie", "Sophie", "Céline", "Aurélie", "Claire", "Hélène",
        "Élodie", "Pauline", "Lucie", "Margaux", "Juliette", "Zoé", "Amandine", "Sandrine",
        "Valérie", "Christine", "Monique", "Françoise", "Lucas", "Hugo", "Louis", "Thomas",
        "Nicolas", "Julien", "Maxime", "Alexandre", "Antoine", "Pierre", "Jean", "Philippe",
        "Michel", "Laurent", "Stéphane", "Sébastien", "David", "Olivier", "François", "Mathieu",
        "Théo", "Nathan", "Yanis", "Karim", "Mehdi", "Bernard", "Patrick", "Christophe", "Éric",
        "Romain",
    ),
    "en": (
        "Emily", "Olivia", "Sophie", "Jessica", "Hannah", "Charlotte", "Amelia", "Grace", "Lucy",
        "Sarah", "Megan", "Chloe", "James", "Oliver", "Jack", "Harry", "George", "William",
        "Daniel", "Thomas", "Michael", "David", "Ryan", "Adam", "Liam", "Noah", "Ethan", "Samuel",
    ),
}
LAST_NAMES = {
    "fr": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
        "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont",
        "Lambert", "Bonnet", "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau",
        "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu",
        "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Benali",
        "Nguyen", "Haddad", "Meyer", "Schmitt", "Le Gall", "Da Silva", "Boyer", "Barbier", "Renaud",
    ),
    "en": (
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Johnson",
        "Roberts", "Walker", "Wright", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall",
        "Wood", "Harris", "Clarke", "Jackson", "Turner", "Hill", "Murphy", "O'Brien", "Kelly",
        "Anderson", "Campbell", "Scott",
    ),
}
#: Mail providers under the reserved ``.example`` TLD (RFC 2606): no real mailbox is named.
MAIL_DOMAINS = (
    "mail.example", "courriel.example", "webmail.example", "boite.example", "poste.example",
    "inbox.example", "net.example", "free.example",
)
CITIES = (
    "Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg", "Montpellier",
    "Bordeaux", "Lille", "Rennes", "Reims", "Grenoble", "Dijon", "Angers", "Nîmes", "Brest",
    "Tours", "Limoges", "Amiens", "Metz", "Rouen", "Caen", "Orléans",
)


def slug(name: str) -> str:
    """ASCII, lower-case, letters only: ``"Le Gall"`` → ``"legall"`` (for e-mails, handles)."""
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_.lower() if ch.isalpha())


# --- service messages --------------------------------------------------------------------
#: Customer messages, per language and topic (4 each, same order as TOPICS).
CUSTOMER_MESSAGES = {
    "fr": {
        "billing": (
            "Bonjour, j'ai été débité deux fois pour ma dernière commande. Pouvez-vous vérifier ?",
            "Je ne comprends pas le montant de ma facture, il ne correspond pas à mon panier.",
            "Bonjour, je n'ai pas reçu ma facture, pouvez-vous me la renvoyer ?",
            "Mon code promo n'a pas été appliqué au paiement.",
        ),
        "delivery": (
            "Ma commande devait arriver hier et je n'ai toujours rien reçu.",
            "Le suivi du colis ne bouge plus depuis trois jours.",
            "Le livreur indique « livré » mais je n'ai pas de colis.",
            "Est-il possible de changer l'adresse de livraison ?",
        ),
        "product": (
            "L'article reçu ne correspond pas à la description.",
            "Le produit ne fonctionne plus au bout d'une semaine.",
            "Avez-vous ce modèle dans une autre taille ?",
            "Il manque une pièce dans le carton.",
        ),
        "account": (
            "Je n'arrive plus à me connecter à mon compte.",
            "Je voudrais modifier mon adresse e-mail.",
            "Comment supprimer ma carte bancaire enregistrée ?",
            "Mes points de fidélité ont disparu.",
        ),
        "returns": (
            "J'ai renvoyé un article il y a deux semaines et je ne suis toujours pas remboursé.",
            "Comment imprimer l'étiquette de retour ?",
            "Le point relais refuse mon retour.",
            "Je souhaite échanger un article contre une autre taille.",
        ),
        "technical": (
            "L'application plante au moment du paiement.",
            "Je ne reçois plus les notifications de l'appli.",
            "Le site affiche une erreur quand je valide mon panier.",
            "L'appli me déconnecte sans arrêt.",
        ),
    },
    "en": {
        "billing": (
            "Hello, I was charged twice for my last order. Could you check?",
            "I don't understand my invoice, the amount doesn't match my basket.",
            "Hi, I never received my invoice, could you send it again?",
            "My promo code wasn't applied at checkout.",
        ),
        "delivery": (
            "My order was due yesterday and I still haven't received anything.",
            "The parcel tracking hasn't moved for three days.",
            "The courier says 'delivered' but there is no parcel.",
            "Can I change the delivery address?",
        ),
        "product": (
            "The item I received doesn't match the description.",
            "The product stopped working after a week.",
            "Do you have this model in another size?",
            "A part is missing from the box.",
        ),
        "account": (
            "I can't log in to my account any more.",
            "I'd like to change my email address.",
            "How do I remove my saved card?",
            "My loyalty points have disappeared.",
        ),
        "returns": (
            "I sent an item back two weeks ago and still haven't been refunded.",
            "How do I print the return label?",
            "The pick-up point refused my return.",
            "I'd like to exchange an item for another size.",
        ),
        "technical": (
            "The app crashes at checkout.",
            "I no longer get notifications from the app.",
            "The website shows an error when I confirm my basket.",
            "The app keeps logging me out.",
        ),
    },
}
#: Customer follow-ups: later written contacts of the same issue (4 per language).
FOLLOW_UPS = {
    "fr": (
        "Je vous relance : ma demande n'est toujours pas réglée.",
        "J'ai déjà appelé à ce sujet, sans solution.",
        "Deuxième message pour le même problème, merci de me répondre.",
        "Toujours rien, je commence à perdre patience.",
    ),
    "en": (
        "Following up: my request still isn't sorted.",
        "I already called about this, with no solution.",
        "Second message about the same problem, please reply.",
        "Still nothing, I'm running out of patience.",
    ),
}
#: Replies per language and outcome class (4 each): resolved, pending (unresolved), handover.
AGENT_REPLIES = {
    "fr": {
        "resolved": (
            "Bonjour, c'est réglé de notre côté. Belle journée !",
            "Merci pour votre patience, la correction est faite.",
            "Nous avons lancé le remboursement, il apparaîtra sous 3 à 5 jours.",
            "Voici la marche à suivre ; nous restons à votre disposition.",
        ),
        "pending": (
            "Nous transmettons votre demande au service concerné.",
            "Pouvez-vous nous envoyer une photo et votre numéro de commande ?",
            "Nous revenons vers vous dès que possible.",
            "Nous ne pouvons pas traiter cette demande ici, merci d'appeler le service client.",
        ),
        "handover": (
            "Je vous mets en relation avec un conseiller.",
            "Je transfère votre demande à un collègue spécialisé.",
            "Un conseiller va prendre le relais, merci de patienter.",
            "Je passe la main à l'équipe concernée.",
        ),
    },
    "en": {
        "resolved": (
            "Hello, it's sorted on our side. Have a nice day!",
            "Thanks for your patience, it has been fixed.",
            "We have issued the refund; it will show within 3 to 5 days.",
            "Here is what to do; we remain at your disposal.",
        ),
        "pending": (
            "We are forwarding your request to the right team.",
            "Could you send us a photo and your order number?",
            "We will get back to you as soon as possible.",
            "We can't handle this here, please call customer service.",
        ),
        "handover": (
            "Let me put you through to an advisor.",
            "I'm transferring your request to a specialist colleague.",
            "An advisor will take over, please hold on.",
            "I'm handing over to the right team.",
        ),
    },
}
BOT_REPLIES = {
    "fr": (
        "Je suis l'assistant virtuel. Cet article de l'aide devrait répondre à votre question.",
        "Je n'ai pas bien compris, pouvez-vous reformuler ?",
        "Voici le lien de suivi de votre commande.",
        "Je vous mets en relation avec un conseiller.",
    ),
    "en": (
        "I'm the virtual assistant. This help article should answer your question.",
        "Sorry, I didn't get that. Could you rephrase?",
        "Here is the tracking link for your order.",
        "Let me put you through to an advisor.",
    ),
}
#: Internal notes are written by agents in the company's language.
INTERNAL_NOTES = (
    "Client rappelé, dossier transmis au niveau 2.",
    "Geste commercial accordé (bon d'achat 10 €).",
    "Client mécontent, à surveiller.",
    "Double prélèvement confirmé, remboursement demandé à la compta.",
    "Attente retour transporteur.",
    "Réclamation déjà traitée par e-mail, client non informé.",
)
CASE_SUBJECTS = {
    "fr": {
        "billing": ("Question sur ma facture", "Double prélèvement"),
        "delivery": ("Colis non reçu", "Retard de livraison"),
        "product": ("Article défectueux", "Question produit"),
        "account": ("Accès à mon compte", "Modification de mes informations"),
        "returns": ("Remboursement d'un retour", "Demande d'échange"),
        "technical": ("Problème avec l'application", "Erreur sur le site"),
    },
    "en": {
        "billing": ("Question about my invoice", "Charged twice"),
        "delivery": ("Parcel not received", "Late delivery"),
        "product": ("Faulty item", "Product question"),
        "account": ("Account access", "Updating my details"),
        "returns": ("Refund for a return", "Exchange request"),
        "technical": ("Problem with the app", "Error on the website"),
    },
}

# --- notifications -------------------------------------------------------------------------
CAMPAIGNS = {
    "fr": (
        "Les soldes d'hiver commencent", "Nouveautés de la semaine", "Offre Saint-Valentin",
        "Printemps : -20 % sur une sélection", "Fête des mères : nos idées cadeaux",
        "Vos points fidélité vous attendent", "Les soldes d'été sont là",
        "Rentrée : la liste des indispensables", "Ventes privées membres",
        "Black Friday : jusqu'à -40 %", "Idées cadeaux de Noël", "Dernier jour pour en profiter",
    ),
    "en": (
        "Winter sale starts now", "New this week", "Valentine's Day offer",
        "Spring: 20% off a selection", "Mother's Day gift ideas", "Your loyalty points are waiting",
        "The summer sale is here", "Back to school essentials", "Members-only private sale",
        "Black Friday: up to 40% off", "Christmas gift ideas", "Last day to enjoy it",
    ),
}
TRANSACTIONAL = {
    "fr": ("Votre commande est expédiée", "Votre colis a été livré", "Votre colis arrive demain",
           "Votre remboursement est en cours"),
    "en": ("Your order has shipped", "Your parcel has been delivered", "Your parcel arrives tomorrow",
           "Your refund is on its way"),
}
SHIPPED, DELIVERED, ARRIVES, REFUND = range(4)

# --- verbatims -------------------------------------------------------------------------------
#: Tone buckets of a verbatim, from the score: negative, neutral, positive. Neutral reasons
#: written in lower case ("but" drivers) follow a "…, mais" / "…, but" opener.
TONES = ("neg", "neu", "pos")
#: Drivers: what the comment is about. Each is used only with the tone it is listed under.
DRIVERS = {
    "neg": ("wait", "repeat", "transfer", "agent_rude", "unresolved", "delivery_late",
            "app_bug", "price_high", "quality_bad", "support_bad"),
    "neu": ("ok_wait", "ok_repeat", "ok_generic", "price_ok", "delivery_slow"),
    "pos": ("agent_kind", "fast", "first_time", "delivery_fast", "choice", "advisors",
            "app_good", "quality"),
}
BUT_DRIVERS = ("ok_wait", "ok_repeat", "delivery_slow")
VERBATIM = {
    "fr": {
        "open": {
            "neg": ("Très déçu.", "Franchement pas terrible.", "Expérience pénible.", "Inadmissible.",
                    "Je suis mécontente."),
            "neu": ("Correct dans l'ensemble.", "Ça va.", "Moyen.", "Pas mal.", "Sans plus."),
            "but": ("Plutôt bien, mais", "Correct, mais", "Ça va, mais", "Bien dans l'ensemble, mais"),
            "pos": ("Super !", "Très satisfait.", "Parfait.", "Merci beaucoup !", "Top."),
        },
        "reason": {
            "wait": ("Trop d'attente au téléphone.", "J'ai attendu beaucoup trop longtemps.",
                     "Quarante minutes pour avoir quelqu'un."),
            "repeat": ("J'ai dû répéter mon problème à chaque fois.",
                       "J'ai dû passer par plusieurs canaux pour avoir une réponse.",
                       "Personne ne savait ce que j'avais déjà expliqué."),
            "transfer": ("J'ai été transféré plusieurs fois.", "On m'a baladé d'un service à l'autre.",
                         "Transféré trois fois sans solution."),
            "agent_rude": ("Le conseiller n'était pas aimable.", "Accueil froid et expéditif.",
                           "On ne m'a pas écouté."),
            "unresolved": ("Mon problème n'est toujours pas réglé.", "Aucune solution proposée.",
                           "Il a fallu relancer plusieurs fois."),
            "delivery_late": ("Livraison en retard.", "Mon colis est arrivé avec une semaine de retard.",
                              "Le suivi de livraison ne sert à rien."),
            "app_bug": ("L'appli bugue sans arrêt.", "Impossible de payer dans l'application.",
                        "Le site plante au paiement."),
            "price_high": ("Les prix ont beaucoup augmenté.", "Trop cher pour la qualité.",
                           "Frais de livraison abusifs."),
            "quality_bad": ("Produit de mauvaise qualité.", "Article cassé au bout d'un mois.",
                            "La qualité a baissé."),
            "support_bad": ("Le service client est injoignable.", "Réponses toutes faites, aucune aide.",
                            "Le service client ne répond pas aux e-mails."),
            "ok_wait": ("un peu d'attente.", "l'attente était longue.", "on m'a fait patienter."),
            "ok_repeat": ("il a fallu rappeler.", "j'ai dû réexpliquer mon problème.",
                          "il a fallu deux contacts."),
            "ok_generic": ("Rien de spécial à signaler.", "Réponse correcte.", "Dans la moyenne."),
            "price_ok": ("Prix corrects.", "Rapport qualité-prix honnête.", "Des promos de temps en temps."),
            "delivery_slow": ("livraison un peu lente.", "colis arrivé à la limite du délai.",
                              "livraison correcte sans plus."),
            "agent_kind": ("Conseiller très aimable et à l'écoute.", "Merci à la conseillère pour sa gentillesse.",
                           "Accueil chaleureux et professionnel."),
            "fast": ("Réponse rapide.", "Problème réglé en quelques minutes.", "Réactivité au top."),
            "first_time": ("Réglé dès le premier appel.", "Tout a été réglé du premier coup.",
                           "Une seule demande a suffi."),
            "delivery_fast": ("Livraison rapide.", "Colis reçu en 48 heures.", "Livraison toujours à l'heure."),
            "choice": ("Beaucoup de choix.", "On trouve tout.", "Large choix de produits."),
            "advisors": ("Des conseillers compétents.", "Le service client est toujours disponible.",
                         "Toujours bien conseillé."),
            "app_good": ("L'appli est pratique.", "Commander sur l'application est simple.",
                         "Appli claire et rapide."),
            "quality": ("Produits de qualité.", "Très contente de mes achats.", "Qualité au rendez-vous."),
        },
        "close": {
            "neg": ("Je vais aller voir ailleurs.", "Je ne recommande pas.", "Dommage.", ""),
            "neu": ("Peut mieux faire.", "À améliorer.", ""),
            "pos": ("Je recommande !", "Continuez comme ça.", "Merci encore.", ""),
        },
    },
    "en": {
        "open": {
            "neg": ("Very disappointed.", "Honestly not great.", "Painful experience.", "Unacceptable.",
                    "Not happy at all."),
            "neu": ("Fine overall.", "It was OK.", "Average.", "Not bad.", "Nothing more."),
            "but": ("Quite good, but", "Fine, but", "OK, but", "Good overall, but"),
            "pos": ("Great!", "Very satisfied.", "Perfect.", "Thanks a lot!", "Excellent."),
        },
        "reason": {
            "wait": ("Far too long on hold.", "I waited much too long.",
                     "Forty minutes to reach someone."),
            "repeat": ("I had to repeat my problem every time.",
                       "I had to try several channels to get an answer.",
                       "Nobody knew what I had already explained."),
            "transfer": ("I was transferred several times.", "I was passed from one team to another.",
                         "Transferred three times with no solution."),
            "agent_rude": ("The advisor was not friendly.", "Cold and curt welcome.",
                           "Nobody listened to me."),
            "unresolved": ("My problem is still not solved.", "No solution was offered.",
                           "I had to chase them several times."),
            "delivery_late": ("Late delivery.", "My parcel arrived a week late.",
                              "The delivery tracking is useless."),
            "app_bug": ("The app keeps crashing.", "I can't pay in the app.",
                        "The website crashes at checkout."),
            "price_high": ("Prices have gone up a lot.", "Too expensive for the quality.",
                           "Delivery fees are outrageous."),
            "quality_bad": ("Poor quality product.", "The item broke after a month.",
                            "Quality has gone down."),
            "support_bad": ("Customer service can't be reached.", "Canned answers, no help.",
                            "Customer service doesn't answer emails."),
            "ok_wait": ("a bit of a wait.", "the wait was long.", "I was kept waiting."),
            "ok_repeat": ("I had to call back.", "I had to explain my problem again.",
                          "it took two contacts."),
            "ok_generic": ("Nothing special to report.", "A correct answer.", "About average."),
            "price_ok": ("Fair prices.", "Decent value for money.", "Good deals now and then."),
            "delivery_slow": ("delivery a bit slow.", "the parcel arrived at the last minute.",
                              "delivery fine, nothing more."),
            "agent_kind": ("Very friendly and attentive advisor.", "Thanks to the advisor for her kindness.",
                           "Warm and professional welcome."),
            "fast": ("Quick answer.", "Sorted in a few minutes.", "Very responsive."),
            "first_time": ("Solved on the first call.", "Everything was sorted first time.",
                           "One request was enough."),
            "delivery_fast": ("Fast delivery.", "Parcel received within 48 hours.", "Always delivered on time."),
            "choice": ("Lots of choice.", "You can find everything.", "Wide range of products."),
            "advisors": ("Competent advisors.", "Customer service is always available.",
                         "Always well advised."),
            "app_good": ("The app is handy.", "Ordering in the app is easy.", "Clear and fast app."),
            "quality": ("Quality products.", "Very happy with my purchases.", "Great quality."),
        },
        "close": {
            "neg": ("I'll shop elsewhere.", "I don't recommend.", "Shame.", ""),
            "neu": ("Could do better.", "Room for improvement.", ""),
            "pos": ("I recommend!", "Keep it up.", "Thanks again.", ""),
        },
    },
}
