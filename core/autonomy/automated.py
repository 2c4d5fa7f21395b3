"""Whether a message was written by a machine: Deskloop never answers auto-replies, bounces or bots.

Answering one starts a mail loop (an out-of-office answers our answer, which answers it...) or
"solves" a ticket no person read. Helpdesks suspend much of it before it becomes a comment
(Zendesk: ``auto_mailer``, ``auto_vacation``, ``auto_delivery_failure``), but the RFC 3834
headers that mark it (``Auto-Submitted``, ``X-Autoreply``, ``Precedence``) do not reach the vendors'
APIs (``shared/docs/alerts-and-replies.md`` section 3), so what is left is read from what is there:
the author's role, the sender's address, the subject and the body.

The cost of a mistake is lopsided but not one-sided: a machine taken for a customer gets an answer
(and may answer back), a customer taken for a machine waits for a person. So the patterns are the
machines' own fixed phrasings, anchored where the machine puts them: an auto-reply's subject
*starts* "Automatic reply:" ("Out of office hours support?" is a customer), a vacation text says
both "I am out of the office" *and* something about mail or a return ("until", "limited access to
email", "in urgent cases"), so "I was out of office, now my card does not work" is a customer. The
reason names the rule and the phrase it matched, never the address, which is personal data.
"""

from __future__ import annotations

import re

from core.autonomy.answers import normalized

#: Local parts of senders that no person reads (``noreply@``, ``mailer-daemon@``, ``bounces+123@``).
_SENDER = re.compile(
    r"^(?P<kind>no-?reply|no_reply|do-?not-?reply|do_not_reply|donotreply|mailer-daemon|mail-daemon|postmaster|"
    r"bounces?|auto-?reply|autoresponder|auto-?confirm|notifications?)(?:[+\-_].*)?$"
)

_START = r"^\W*(?P<phrase>"
_END = r")(?:\s*[:\-(\[]|\s*$)"
#: Subjects machines write, at the start of the subject and followed by ":" (or nothing).
_AUTO_REPLY_SUBJECT = re.compile(_START + "|".join([
    r"automatic reply", r"auto[- ]?reply", r"auto[- ]?response", r"automated (?:reply|response)",
    r"out of (?:the )?office", r"ooo", r"away from (?:the )?office", r"vacation (?:reply|response|auto-?reply)",
    r"on vacation", r"on leave", r"autosvar",
    # Other helpdesks' acknowledgements: answering one starts a loop between two help desks.
    r"(?:request|ticket|case|message) received", r"we(?: have|'ve) received your (?:request|message|e-?mail)",
    r"automatische antwort", r"eingangsbestatigung", r"abwesenheitsnotiz", r"abwesenheit", r"abwesend",
    r"nicht im buro", r"urlaubsabwesenheit",
    r"reponse automatique", r"absence du bureau", r"absent du bureau", r"message d'absence", r"absence", r"absent",
    r"respuesta automatica", r"fuera de (?:la )?oficina", r"respuesta de ausencia", r"ausencia", r"ausente",
    r"resposta automatica", r"fora do escritorio",
    r"risposta automatica", r"fuori (?:sede|ufficio)", r"assenza", r"assente",
    r"automatisch antwoord", r"afwezig", r"afwezigheid", r"buiten kantoor",
]) + _END)
_BOUNCE_SUBJECT = re.compile(_START + "|".join([
    r"undeliverable", r"undelivered mail(?: returned to sender)?", r"delivery status notification",
    r"delivery (?:failure|has failed|notification)", r"mail delivery (?:failed|failure|system|subsystem)",
    r"returned mail", r"failure notice", r"message not delivered", r"could not deliver",
    r"unzustellbar", r"nicht zustellbar", r"zustellung fehlgeschlagen",
    r"non remis", r"non distribuable", r"echec de (?:la )?remise",
    r"no se puede entregar", r"no entregado", r"error de entrega",
    r"nao entregue", r"nao foi possivel entregar", r"falha na entrega",
    r"non recapitabile", r"non recapitato", r"impossibile recapitare", r"mancato recapito",
    r"niet bezorgd", r"onbestelbaar", r"kan niet worden bezorgd",
]) + _END)

#: Texts that say of themselves that a machine wrote them, or that a message bounced.
_AUTO_REPLY_TEXT = re.compile("|".join([
    r"\bthis is an? automat(?:ic|ed) (?:reply|response|message|e-?mail|notification)\b",
    r"\bthis (?:e-?mail|message) (?:was|has been|is) (?:sent |generated |created )?automatically\b",
    r"\bauto-?generated (?:message|e-?mail|reply|response)\b",
    r"\bthis mailbox is (?:not monitored|unmonitored|unattended)\b",
    r"\byour (?:request|ticket|case) \(?#?\d+\)? has been (?:received|created)\b",
    r"\bwe have received your (?:request|message|e-?mail|enquiry|inquiry)\b.{0,160}\b(?:ticket|case|reference|request) "
    r"(?:number|id|#|is)",
    r"\b(?:please )?do not reply (?:directly )?to this (?:e-?mail|message)\b",
    r"\bdies ist eine automatische (?:antwort|nachricht|e-mail|benachrichtigung|bestatigung|eingangsbestatigung)\b",
    r"\bdiese (?:e-mail|nachricht) wurde automatisch (?:erstellt|generiert|versendet|verschickt)\b",
    r"\bbitte antworten sie nicht auf diese (?:e-mail|nachricht)\b",
    r"\bceci est (?:une reponse|un message) automatique\b", r"\bmerci de ne pas repondre a (?:ce|cet) ",
    r"\besta es una respuesta automatica\b", r"\beste es un mensaje automatico\b",
    r"\bpor favor,? no (?:responda|respondas) a este (?:correo|mensaje)\b",
    r"\besta e uma (?:resposta|mensagem) automatica\b", r"\bnao responda a (?:este|esta) (?:e-?mail|mensagem)\b",
    r"\bquesta e una risposta automatica\b", r"\bquesto e un messaggio automatico\b",
    r"\bnon rispondere a (?:questa|questo) (?:e-?mail|mail|messaggio)\b",
    r"\bdit is een automatisch (?:antwoord|bericht|gegenereerd)\b",
    r"\b(?:gelieve|graag) niet (?:te )?(?:antwoorden|reageren)\b",
]))
_BOUNCE_TEXT = re.compile("|".join([
    r"\bthis message was created automatically by mail delivery software\b",
    r"\bdelivery to the following recipients? (?:failed|has failed)\b",
    r"\bdelivery has failed to these recipients\b", r"\bthis is the qmail-send program\b",
    r"\b(?:unable|was not able|were not able) to deliver your message\b",
    r"\b(?:your|the following|this) message (?:to .{1,80} )?"
    r"(?:could not be|cannot be|was not|has not been) delivered\b",
    r"\b(?:the following )?message (?:to .{1,80} )?was undeliverable\b",
    r"\b(?:mail|e-?mail|message) delivery (?:failed|failure|has failed)\b",
    r"\b(?:reporting-mta|final-recipient|diagnostic-code): (?:dns|rfc822|smtp)\b",
    r"\bdie nachricht konnte nicht zugestellt werden\b",
    r"\ble message n'a pas pu etre (?:remis|distribue)\b", r"\bvotre message n'a pas pu etre (?:remis|distribue)\b",
    r"\bno se (?:ha podido|pudo) entregar el mensaje\b", r"\bel mensaje no se (?:ha podido|pudo) entregar\b",
    r"\ba mensagem nao pode ser entregue\b", r"\bnao foi possivel entregar a mensagem\b",
    r"\bimpossibile recapitare il messaggio\b", r"\bil messaggio non (?:e stato|puo essere) recapitato\b",
    r"\bhet bericht (?:kan|kon) niet (?:worden )?(?:bezorgd|afgeleverd)\b",
]))
#: An out-of-office text: the writer is away now...
_AWAY = re.compile("|".join([
    r"\b(?:i am|i'm|i will be|i'll be|i shall be)\s+(?:\S+\s+){0,2}(?:out of (?:the )?office|away from (?:the |my )?"
    r"(?:office|desk)|on (?:vacation|holiday|holidays|annual leave|leave|parental leave|maternity leave|sick leave|"
    r"a business trip)|travelling|traveling|away|off work)\b",
    r"\bich bin (?:\S+\s+){0,6}(?:nicht im (?:buro|hause)|abwesend|im urlaub|in urlaub|ausser haus|nicht erreichbar)\b",
    r"\bje (?:suis|serai) (?:\S+\s+){0,3}(?:absente?|en conges?|en vacances|hors du bureau|en deplacement)\b",
    r"\b(?:estoy|estare) (?:\S+\s+){0,3}(?:fuera de (?:la )?oficina|de vacaciones|ausente|de viaje)\b",
    r"\b(?:estou|estarei) (?:\S+\s+){0,3}(?:fora do escritorio|de ferias|ausente|em viagem)\b",
    r"\b(?:sono|saro) (?:\S+\s+){0,3}(?:fuori (?:ufficio|sede)|in ferie|in vacanza|assente)\b",
    r"\bik (?:ben|zal) (?:\S+\s+){0,3}(?:afwezig|niet op kantoor|op vakantie|met vakantie|buiten kantoor)\b",
]))
#: ...and says what happens to mail meanwhile, or when they return.
_AWAY_MAIL = re.compile("|".join([
    r"\b(?:upon|on|after) my return\b", r"\bwhen i (?:return|am back|get back)\b", r"\b(?:in|during) my absence\b",
    r"\b(?:limited|no|without) access to (?:my )?e-?mails?\b", r"\bfor (?:urgent|anything urgent)\b", r"\bif urgent\b",
    r"\bin urgent cases\b", r"\bback in the office on\b", r"\breturning on\b",
    r"\bwill (?:be )?(?:back|returning) on\b",
    r"\bnach meiner ruckkehr\b", r"\bin dringenden fallen\b", r"\bwahrend meiner abwesenheit\b",
    r"\bwieder (?:erreichbar|im buro|da)\b", r"\bkeinen zugriff auf (?:meine )?e-?mails?\b",
    r"\bwird nicht weitergeleitet\b",
    r"\b(?:a|des|apres) mon retour\b", r"\ben mon absence\b", r"\bpour toute urgence\b", r"\ben cas d'urgence\b",
    r"\ba mi (?:regreso|vuelta)\b", r"\ben mi ausencia\b", r"\bpara (?:asuntos|temas) urgentes\b",
    r"\ben caso de urgencia\b",
    r"\bno meu (?:regresso|retorno)\b", r"\bquando (?:regressar|voltar)\b", r"\bna minha ausencia\b",
    r"\bpara assuntos urgentes\b", r"\bem caso de urgencia\b",
    r"\bal mio (?:rientro|ritorno)\b", r"\b(?:in|durante la) mia assenza\b", r"\bper (?:urgenze|questioni urgenti)\b",
    r"\bin caso di urgenza\b",
    r"\b(?:na|bij) mijn terugkeer\b", r"\btijdens mijn afwezigheid\b", r"\bin dringende gevallen\b",
    r"\bvoor dringende zaken\b", r"\bweer (?:bereikbaar|aanwezig|op kantoor)\b",
]))
_ADDRESS = re.compile(r"\S+@\S+")
#: Characters of the body read: the machines' phrases are at the top, and a long body is a person's.
BODY_CHARS = 4_000


def automated_reason(subject: str, body: str, requester_email: str | None, author_role: str) -> str | None:
    """Why the message looks machine-written (a short phrase for the log and the audit trail), or
    ``None`` for a message a person wrote."""
    if author_role == "bot":
        return "author is a bot"
    local_part = (requester_email or "").strip().lower().rpartition("@")[0]
    if local_part and (found := _SENDER.match(local_part)):
        return f"automated sender ({found['kind']})"
    title = _ADDRESS.sub("<address>", normalized(subject or ""))
    for kind, pattern in (("auto-reply", _AUTO_REPLY_SUBJECT), ("delivery failure", _BOUNCE_SUBJECT)):
        if found := pattern.match(title):
            return f'{kind} subject ("{found["phrase"]}")'
    text = _ADDRESS.sub("<address>", normalized((body or "")[:BODY_CHARS]))
    for kind, pattern in (("auto-reply", _AUTO_REPLY_TEXT), ("delivery failure", _BOUNCE_TEXT)):
        if found := pattern.search(text):
            return f'{kind} text ("{found[0]}")'
    if (away := _AWAY.search(text)) and _AWAY_MAIL.search(text):
        return f'out-of-office text ("{away[0]}")'
    return None
