"""Deskloop never answers auto-replies, bounces or bots; it does answer customers who merely
mention being away or an undelivered parcel."""

from __future__ import annotations

import pytest

from core.autonomy.automated import automated_reason

OOO_EN = ("Thank you for your email. I am currently out of the office with limited access to email and will "
          "respond to your message upon my return on 12 January. For urgent matters please contact "
          "support@acme.example.")
BOUNCE_EN = ("This message was created automatically by mail delivery software.\n\nA message that you sent could "
             "not be delivered to one or more of its recipients. This is a permanent error. The following "
             "address(es) failed:\n\n  jane.doe@customer.example\n    host mx.customer.example said: 550 5.1.1 "
             "User unknown")
DSN = ("Reporting-MTA: dns; mx1.mail.example\nFinal-Recipient: rfc822; jane.doe@customer.example\n"
       "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown")

MACHINES = [
    # (subject, body, requester_email, author_role)
    ("Re: your order", "Thanks!", None, "bot"),
    ("Re: your order", "Thanks!", "noreply@shop.example", "customer"),
    ("Re: your order", "Thanks!", "no-reply@accounts.example", "customer"),
    ("Re: your order", "Thanks!", "do-not-reply@bank.example", "customer"),
    ("Re: your order", "Thanks!", "DoNotReply@bank.example", "customer"),
    ("Re: your order", "Thanks!", "MAILER-DAEMON@mx.example", "customer"),
    ("Re: your order", "Thanks!", "postmaster@customer.example", "customer"),
    ("Re: your order", "Thanks!", "bounces+12345-abcd@mail.example", "customer"),
    ("Re: your order", "Thanks!", "notifications@github.example", "customer"),
    ("Automatic reply: Your ticket #4821", "I'm away.", "jane@customer.example", "customer"),
    ("Auto-Reply: Re: Your ticket", "Back Monday.", "jane@customer.example", "customer"),
    ("AutoReply", "", "jane@customer.example", "customer"),
    ("Out of Office: Re: refund", "", "jane@customer.example", "customer"),
    ("OOO - back on Monday", "", "jane@customer.example", "customer"),
    ("Undeliverable: Re: Your ticket #4821", "", "jane@customer.example", "customer"),
    ("Delivery Status Notification (Failure)", "", "jane@customer.example", "customer"),
    ("Mail delivery failed: returning message to sender", "", "jane@customer.example", "customer"),
    ("Undelivered Mail Returned to Sender", "", "jane@customer.example", "customer"),
    ("Returned mail: see transcript for details", "", "jane@customer.example", "customer"),
    ("Abwesenheitsnotiz: Ihre Anfrage", "", "max@kunde.example", "customer"),
    ("Automatische Antwort: Ihre Anfrage", "", "max@kunde.example", "customer"),
    ("Unzustellbar: Ihre Anfrage", "", "max@kunde.example", "customer"),
    ("Réponse automatique : votre demande", "", "marie@client.example", "customer"),
    ("Absence du bureau", "", "marie@client.example", "customer"),
    ("Non remis : votre demande", "", "marie@client.example", "customer"),
    ("Respuesta automática: su solicitud", "", "ana@cliente.example", "customer"),
    ("Fuera de la oficina: su solicitud", "", "ana@cliente.example", "customer"),
    ("Resposta automática: o seu pedido", "", "joao@cliente.example", "customer"),
    ("Risposta automatica: la sua richiesta", "", "luca@cliente.example", "customer"),
    ("Fuori ufficio", "", "luca@cliente.example", "customer"),
    ("Non recapitabile: la sua richiesta", "", "luca@cliente.example", "customer"),
    ("Automatisch antwoord: uw aanvraag", "", "sanne@klant.example", "customer"),
    ("Afwezig: uw aanvraag", "", "sanne@klant.example", "customer"),
    # The subject is the ticket's; the body gives it away.
    ("Re: Your ticket #4821", OOO_EN, "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", BOUNCE_EN, "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", DSN, "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", "This is an automated response. Your message has been received.", "it@corp.example",
     "customer"),
    ("Re: Your ticket #4821", "This mailbox is not monitored. Please do not reply to this email.",
     "accounts@corp.example", "customer"),
    ("Re: Ihre Anfrage", "Vielen Dank für Ihre Nachricht. Ich bin bis zum 12. Januar nicht im Büro. In dringenden "
     "Fällen wenden Sie sich bitte an meine Kollegin.", "max@kunde.example", "customer"),
    ("Re: Ihre Anfrage", "Dies ist eine automatische Antwort. Ihre Nachricht ist eingegangen.", "max@kunde.example",
     "customer"),
    ("Re: votre demande", "Bonjour, je suis absente jusqu'au 3 mars. Je traiterai votre message à mon retour.",
     "marie@client.example", "customer"),
    ("Re: su solicitud", "Estoy fuera de la oficina hasta el lunes. Responderé a su correo a mi regreso.",
     "ana@cliente.example", "customer"),
    ("Re: o seu pedido", "Estou de férias até dia 5. Responderei no meu regresso.", "joao@cliente.example", "customer"),
    ("Re: la sua richiesta", "Sono in ferie fino al 20 agosto. Risponderò al mio rientro.", "luca@cliente.example",
     "customer"),
    ("Re: uw aanvraag", "Ik ben afwezig tot en met 4 juni. Tijdens mijn afwezigheid worden e-mails niet gelezen.",
     "sanne@klant.example", "customer"),
    ("Re: uw aanvraag", "Het bericht kon niet worden bezorgd aan de ontvanger.", "sanne@klant.example", "customer"),
    ("Re: Your ticket #4821", "Your message to jane@customer.example couldn't be delivered. jane wasn't found at "
     "customer.example.", "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", "Address not found\n\nYour message wasn't delivered to jane@customer.example because "
     "the address couldn't be found.", "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", "Delivery has failed to these recipients or groups:\njane@customer.example",
     "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", "Hi. This is the qmail-send program at mail.customer.example.\nI'm afraid I wasn't "
     "able to deliver your message to the following addresses.", "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", "I'm out of the office until Monday 14 April with no access to email.",
     "jane@customer.example", "customer"),
    ("Re: Your ticket #4821", "I'm currently on annual leave, returning on Monday 3rd March.",
     "jane@customer.example", "customer"),
    ("Re: Ihre Anfrage", "Guten Tag, ich bin vom 1. bis 5. Mai nicht im Büro und habe keinen Zugriff auf meine "
     "E-Mails.", "max@kunde.example", "customer"),
    ("Eingangsbestätigung: Ihre Anfrage", "", "service@lieferant.example", "customer"),
    # Another help desk's acknowledgement (Zendesk's default wording, and a generic one).
    ("[Acme] Re: Your ticket #4821", "Your request (#98231) has been received and is being reviewed by our support "
     "staff.", "support@vendor.example", "customer"),
    ("Request received: Re: Your ticket #4821", "", "help@vendor.example", "customer"),
    ("Re: Your ticket #4821", "Hello, we have received your message. Your case number is 55-1234; we will answer "
     "within two working days.", "help@vendor.example", "customer"),
]

PEOPLE = [
    ("Card not working", "I was out of office, now my card does not work.", "jane@customer.example", "customer"),
    ("Out of office hours support?", "Do you answer the phone on weekends?", "jane@customer.example", "customer"),
    ("Re: refund", "I'm on holiday in Spain and my card was declined at a restaurant.", "jane@customer.example",
     "customer"),
    ("Re: refund", "Your automatic reply said 24 hours but nobody has answered in three days.",
     "jane@customer.example", "customer"),
    ("Parcel undeliverable?", "The tracking page says my parcel could not be delivered. What now?",
     "jane@customer.example", "customer"),
    ("Delivery failed", "The courier says delivery failed because nobody was home.", "jane@customer.example",
     "customer"),
    ("Absence of invoice", "I never received an invoice for March.", "jane@customer.example", "customer"),
    ("Ausencia de factura", "No he recibido la factura de marzo.", "ana@cliente.example", "customer"),
    ("Re: your order", "Your emails come from noreply@shop.example, how do I reply?", "jane@customer.example",
     "customer"),
    ("Re: your order", "Thanks!", "noreply.fan@customer.example", "customer"),
    ("Re: your order", "Thanks!", "replyto.jane@customer.example", "customer"),
    ("Re: your order", "Thanks!", "postmaster.general.jane@customer.example", "customer"),
    ("Re: your order", "Thanks!", None, "customer"),
    ("Re: your order", "Thanks!", "", "customer"),
    ("Urlaub", "Ich war im Urlaub und jetzt ist meine Karte gesperrt.", "max@kunde.example", "customer"),
    ("Question", "Will you be out of office over Christmas? When are you back?", "jane@customer.example",
     "customer"),
    ("Re: votre demande", "J'étais absente la semaine dernière, ma carte ne marche plus.", "marie@client.example",
     "customer"),
    ("Re: Ihre Anfrage", "Danke, das hat funktioniert!", "max@kunde.example", "customer"),
    ("Re: refund", "Have you received my request? I sent it last week and my case is still open.",
     "jane@customer.example", "customer"),
    ("Re: refund", "I'm on leave next week, can you process the refund before Friday?", "jane@customer.example",
     "customer"),
]


@pytest.mark.parametrize(("subject", "body", "email", "role"), MACHINES)
def test_machines_are_recognised(subject, body, email, role):
    assert automated_reason(subject, body, email, role) is not None


@pytest.mark.parametrize(("subject", "body", "email", "role"), PEOPLE)
def test_people_are_not(subject, body, email, role):
    assert automated_reason(subject, body, email, role) is None


def test_the_reason_names_the_rule_and_the_phrase():
    assert automated_reason("Hi", "Thanks", None, "bot") == "author is a bot"
    assert automated_reason("Hi", "Thanks", "No-Reply@x.example", "customer") == "automated sender (no-reply)"
    assert automated_reason("Abwesenheitsnotiz: Ihre Anfrage", "", None, "customer") == \
        'auto-reply subject ("abwesenheitsnotiz")'
    assert automated_reason("Undeliverable: Re: #4821", "", None, "customer") == \
        'delivery failure subject ("undeliverable")'
    assert automated_reason("Re: #4821", OOO_EN, None, "customer") == \
        'out-of-office text ("i am currently out of the office")'


def test_the_reason_never_holds_an_address():
    body = "Your message to jane.doe@customer.example could not be delivered."
    reason = automated_reason("Re: #4821", body, "jane.doe@customer.example", "customer")
    assert reason is not None and "@" not in reason and "jane" not in reason


def test_only_the_top_of_a_long_body_is_read():
    body = "My card does not work. " * 400 + "This is an automatic reply."
    assert automated_reason("Card", body, "jane@customer.example", "customer") is None
