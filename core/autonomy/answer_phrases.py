"""The phrases :mod:`core.autonomy.answers` reads a customer's reply with, per language.

Each pattern runs on :func:`core.autonomy.answers.normalized` text: lower case, accents folded
("não" is "nao", "résolu" is "resolu"), English contractions expanded ("didn't" is "did not"). A
pattern that names a verb and its negation allows up to two words between them ("did not really
help", "funktioniert leider nicht"), and French, German and Dutch put the negation after the verb
("marche pas", "klappt nicht", "werkt niet"), so those languages have both orders. Add a phrasing
with a labelled reply in ``tests/data/autonomy_answers.csv``.
"""

from __future__ import annotations

import re


def _any(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


#: Asking for a person. "someone"/"person" only count after a verb of talking and with "a", "your"
#: or "real" ("can another person use my account?" is no request), "call me" only as a request
#: ("your sales team keeps trying to call me" is a complaint).
_DET = r"(?:(?:a|an|the|some|one of your|your|a real|an actual|a live|a real live|real|actual|live)\s+)?"
_HUMAN_NOUN = _any(r"human(?: being)?", r"person", r"agent", r"representative", r"rep", r"someone", r"somebody",
                   r"operator", r"manager", r"supervisor", r"staff(?: member)?", r"employee", r"advisor", r"adviser",
                   r"people", r"team member")
_CALL_ME = r"(?:call|phone|ring) me"
WANTS_HUMAN = re.compile("|".join([
    # en
    rf"\b(?:speak|talk|chat|get through)\s+(?:to|with)\s+{_DET}{_HUMAN_NOUN}\b",
    r"\b(?:real|actual|live)\s+(?:human|person|agent|people)\b",
    r"\b(?:human|person|agent|representative|operator)\s+(?:please|pls|plz)\b",
    r"^\W*(?:human|agent|representative|operator)\W*$",
    r"\b(?:want|need|like)\s+(?:a|an|to have a)\s+(?:human|person|agent|representative)\b",
    r"\b(?:connect|transfer|put)\s+me\s+(?:to|through|with)\b",
    r"\bescalate\s+(?:this|it|my)\b",
    rf"\b(?:please|pls|can you|could you|can someone|could someone|would you|just|someone|somebody|you can|"
    rf"feel free to|can one of you|can anyone)\s+(?:\w+\s+)?{_CALL_ME}\b",
    rf"^\W*{_CALL_ME}\b", rf"\b{_CALL_ME} (?:back|asap|please|at|on|today|tomorrow|now)\b",
    r"\bgive me a (?:call|ring)\b", r"\bcallback\b",
    r"\bnot (?:a|another|talking to a) (?:bot|robot|machine)\b", r"\bstop (?:the|this) bot\b",
    r"\bis (?:there|this) (?:a|an) (?:real )?(?:human|person)\b(?!-)",
    r"\b(?:speak|talk|chat)\s+(?:to|with)\s+(?:your|the)\s+(?:\w+\s+)?(?:team|support|staff|department|colleagues)\b",
    r"\b(?:get|have|put)\s+(?:someone|somebody|a person|a human|an agent)\s+on the (?:phone|line)\b",
    r"\b(?:agente|operador|asesor|agent|conseiller|operatore) (?:humano|humain|umano)\b",
    r"\b(?:a|any|an agent|a person|someone|somebody|anyone|anybody) who speaks\b",
    # de
    r"\b(?:mit|einen?|einem|einer)\s+(?:echten?\s+|richtigen?\s+)?(?:menschen|mensch|mitarbeiter(?:in)?|berater(?:in)?|"
    r"person|jemandem|ansprechpartner(?:in)?)\s+(?:\w+\s+)?(?:sprechen|reden|verbunden|verbinden|telefonieren)\b",
    r"\brufen sie mich\b", r"\bruf mich\b", r"\b(?:mich|uns)\s+(?:\w+\s+){0,2}(?:zuruckrufen|anrufen)\b",
    r"\bverbinden sie mich\b", r"\bruckruf\b", r"\bkein(?:en)? (?:bot|roboter)\b",
    r"\b(?:echten?|richtigen?) (?:menschen|mensch|person)\b",
    # fr
    r"\bparler (?:a|avec) (?:quelqu'un|quelqu un|(?:un|une|votre|un vrai|une vraie)\s+(?:humain|personne|conseiller|"
    r"conseillere|agent|operateur|responsable|interlocuteur))\b",
    r"\b(?:rappelez|appelez|rappeler)[- ]moi\b", r"\bme (?:rappeler|telephoner|appeler)\b",
    r"\b(?:vraie personne|vrai humain|etre humain|pas un (?:bot|robot))\b",
    r"\b(?:veux|voudrais|souhaite|souhaiterais)\s+(?:un|une)\s+(?:humain|conseiller|conseillere|personne|agent)\b",
    # es
    r"\bhablar con (?:alguien|(?:una|un|algun|un ser)\s+(?:persona|humano|agente|asesor|operador|responsable))\b",
    r"\bllamen?me\b", r"\b(?:pasenme|paseme|pasame|comuniquenme|comuniqueme) con\b", r"\bque me llamen?\b",
    r"\bme llame (?:una persona|alguien|un agente|un asesor)\b", r"\bme (?:pueden|puede|podrian) llamar\b",
    r"\bpersona real\b",
    r"\bno (?:un|con un) (?:bot|robot)\b",
    # pt
    r"\bfalar com (?:alguem|(?:uma|um|algum)\s+(?:pessoa|humano|atendente|agente|assistente|operador))\b",
    r"\bliguem[- ]me\b", r"\bme liguem\b", r"\bme ligar\b", r"\bligar[- ]me\b", r"\bpessoa real\b",
    r"\batendente humano\b", r"\bnao (?:um|com um) (?:bot|robo)\b",
    # it
    r"\bparlare con (?:qualcuno|(?:una|un|un vero|una vera|un essere)\s+(?:persona|operatore|operatrice|umano|agente|"
    r"consulente|responsabile))\b",
    r"\bchiamatemi\b", r"\bmi (?:chiami|chiamate|richiami|richiamate|potete chiamare)\b",
    r"\bpersona (?:reale|vera)\b", r"\bnon (?:un|con un) (?:bot|robot)\b",
    # nl
    r"\b(?:spreken|praten)\s+(?:met|tegen)\s+(?:iemand|(?:een|een echte|een echt)\s+(?:mens|medewerker|persoon|"
    r"medewerkster))\b",
    r"\bmet\s+(?:iemand|(?:een\s+)?(?:echte?\s+)?(?:mens|medewerker|persoon))\s+(?:\w+\s+)?(?:spreken|praten)\b",
    r"\b(?:een|iemand|wil|graag)\s+(?:\w+\s+){0,2}(?:medewerker|mens|persoon|iemand)\s+(?:spreken|praten)\b",
    r"\bbel (?:me|mij)\b", r"\bterugbellen\b", r"\becht(?:e)? (?:mens|persoon)\b", r"\bgeen (?:bot|robot)\b",
]))
#: Refusing the bot is asking for a person, even though it says "do not want to talk".
REFUSES_BOT = re.compile(
    r"\b(?:do not|dont|never)\s+(?:want|wish|like)\s+(?:\w+\s+){0,3}(?:a|the|this|your|any)\s+(?:bot|robot|chatbot|"
    r"ai|machine|automated)\b|\bwill\s+not\s+(?:talk|speak)\s+to\s+(?:a|the|this|your)\s+(?:bot|robot|chatbot)\b"
)
#: Declining a person: "no need to call me", "don't call me", "ich brauche keinen Rückruf".
DECLINES_HUMAN = re.compile(
    r"\b(?:no need to|do not|never)\s+(?:\w+\s+){0,2}(?:call|phone|speak|talk|escalate|transfer)|"
    r"\bdo not need (?:a|to)\b|\bkein(?:en)? ruckruf\b|\bnicht (?:anrufen|zuruckrufen)\b|"
    r"\bpas besoin de (?:me )?(?:rappeler|parler|appeler)\b|\bno hace falta (?:llamar|hablar)\b|"
    r"\bnao (?:e preciso|precisa|precisam) (?:ligar|falar)\b|\bnon (?:serve|c'e bisogno di) (?:chiamar|parlar)|"
    r"\bniet (?:nodig|terugbellen|bellen)\b|\bhoeft niet\b"
)

#: Clearly not (or not yet) working, anywhere in the reply.
NEGATIVE = re.compile("|".join([
    # en
    r"\bstill\s+(?:\w+\s+){0,2}(?:not|no|broken|fail|fails|failing|failed|error|errors|wrong|the same|same|stuck|"
    r"cannot|unable|happening|getting|crash|crashes|crashing|declined|missing|down|waiting|charged|locked|shows|"
    r"showing|says|nothing)\b",
    r"\b(?:same|identical)\s+(?:\w+\s+)?(?:problem|issue|error|result|message|thing)\b",
    r"\b(?:did|does|do|was|is|has|have|had|will|could)\s+not\s+(?:\w+\s+){0,2}(?:help|helped|work|worked|working|fix|"
    r"fixed|solve|solved|resolve|resolved|answer|change|changed|do anything|make a difference)\b",
    r"\bnot\s+(?:\w+\s+)?(?:working|work|helpful|solved|fixed|resolved|what i (?:asked|meant|need|needed|was asking|"
    r"wanted))\b",
    r"\bnot (?:an )?answer(?:ed|ing)? (?:to )?my question\b",
    r"\b(?:that is|that was|this is|it is|you are|your answer is|answer is|the answer is)\s+(?:\w+\s+)?"
    r"(?:wrong|incorrect|useless|not right|not correct|not true|irrelevant|no help|not relevant)\b",
    r"^\W*(?:no|nope|nah|not really|negative|no luck|no dice)\W*$",
    r"\bno (?:luck|change|difference|improvement|joy)\b", r"\bnothing (?:changed|happens|happened|works)\b",
    r"\b(?:keeps?|kept)\s+(?:failing|crashing|happening|declining|saying|showing|giving|getting)\b",
    r"\b(?:useless|unhelpful|makes no sense|did nothing|does nothing|nothing happened|not helping|no help)\b",
    r"\b(?:cannot|can not|unable to|not able to)\b",
    r"\b(?:a|an|another|the same|different|new)\s+(?:\w+\s+)?(?:error|error message)\b",
    r"\b(?:fails|failed|failing|broken|crashes|crashed|crashing)\b",
    r"\b(?:will|would|does|did) not (?:let|allow) me\b",
    r"\b(?:it|that|this|now it|today it) (?:does|did|is|will) not\W*$", r"\b(?:stopped|stops)(?: working| again)?\b",
    r"\b(?:works|worked|working) (?:once|yesterday|before|earlier|for a (?:while|minute|bit|day|moment))\b",
    r"\b(?:thanks|thank you) for nothing\b|\bdanke fur nichts\b|\bmerci pour rien\b|\bgracias por nada\b|"
    r"\bobrigad[oa] por nada\b|\bgrazie per niente\b|\bbedankt voor niets\b",
    r"\b(?:that|this|it) is not (?:the|my) (?:problem|issue|question|point)\b", r"\bunfortunately not\b",
    r"\b(?:invalid|expired|does not exist|greyed out|grayed out|stuck|frozen)\b",
    r"\b(?:misunderstood|misread|missed the point|about something else|something else entirely)\b",
    r"\bnever (?:arrives|arrived|came|comes|got|get|received|receive|works|worked)\b",
    r"\b(?:has|have|did|does) not (?:\w+\s+)?(?:arrived|arrive|received|receive|come|came|shown up|show up)\b",
    r"\b(?:happened|happening|failing|failed|crashed|declined)\s+again\b",
    r"\bonly partly\b|\bpartially\b|\bhalf (?:working|works)\b",
    r"\b(?:already tried|tried (?:that|this|it|those|these) already|tried everything|tried all)\b",
    # de
    r"\b(?:immer noch|noch immer|weiterhin|nach wie vor|schon wieder)\b",
    r"\bnicht\s+(?:\w+\s+){0,2}(?:geholfen|gelost|funktioniert|behoben|geklappt|hilfreich|beantwortet|richtig)\b",
    r"\b(?:funktioniert|klappt|geht|hilft|half|funktionierte|klappte|ging)\s+(?:\w+\s+){0,2}(?:nicht|kein)\b",
    r"\b(?:kann|konnen|konnte)\s+(?:\w+\s+){0,3}nicht\b",
    r"\b(?:falsch|unbrauchbar|bringt nichts|hat nichts gebracht|nutzlos|gleiche(?:s|n)? (?:problem|fehler))\b",
    r"\bnicht (?:meine frage|was ich|das was)\b", r"\b(?:keine|ohne) (?:anderung|besserung|erfolg)\b",
    r"\b(?:fehlermeldung|fehler)\b", r"^\W*nein\W*$", r"\bleider (?:nein|nicht)\b",
    r"\b(?:ist|sind) (?:immer )?noch (?:da|vorhanden|gesperrt|offen)\b",
    # fr
    r"\b(?:marche|fonctionne|marchait|fonctionnait|aide|resout|resolu|regle|repond)\s+(?:\w+\s+){0,2}"
    r"(?:toujours pas|pas|plus|rien)\b",
    r"\bn'?\s?(?:a|ai|ont|est)\s+(?:\w+\s+){0,1}(?:pas|rien|toujours pas)\s+(?:\w+\s+)?"
    r"(?:aide|marche|fonctionne|resolu|regle|change|reussi)\b",
    r"\b(?:peux|pouvons|arrive|arrivons)\s+(?:toujours\s+)?pas\b", r"\bne\s+(?:\w+\s+){0,2}pas\b",
    r"\b(?:toujours pas|toujours le meme|toujours la meme|meme probleme|meme erreur|pas resolu|pas regle|"
    r"ne repond pas|faux|incorrect|inutile|ca ne sert a rien|rien n'a change|toujours bloque|erreur|"
    r"ce n'est pas ce que)\b",
    r"\brien ne (?:change|marche|fonctionne|se passe)\b",
    r"^\W*non\W*$",
    # es, pt, it (negation before the verb)
    r"\b(?:no|nao|non)\s+(?:\w+\s+){0,2}(?:funciona|funciono|funcionou|funziona|funzionato|sirve|sirvio|serviu|"
    r"ayudo|ayuda|ajudou|ajuda|aiutato|aiuta|resolvio|resuelve|resolveu|resolve|resolvido|resuelto|risolto|risolve|"
    r"solucionado|soluciono|arreglado|responde|risponde|puedo|pude|podemos|consigo|consegui|conseguimos|riesco|"
    r"riusciamo|funcionando|funzionando)\b",
    r"\b(?:sigue|seguimos|continua|continuo|continuamos|ancora|ainda)\s+(?:\w+\s+){0,2}(?:sin|sem|non|nao|no|igual|"
    r"fallando|falhando|dando erro|dando error|con el mismo|com o mesmo|lo stesso|bloccat[oa]|con el problema)\b",
    r"\b(?:mismo|mesmo|stesso)\s+(?:problema|error|erro|errore)\b",
    r"\b(?:todavia no|aun no|ainda nao|ancora non)\b",
    r"\b(?:no era|no es|nao era|nao e|non era|non e) (?:eso|isso|quello|lo que|o que|cio che)\b",
    r"\b(?:no|nao|non) (?:ha |e |se ha )?(?:cambiado|mudou|cambiato|mudado)\b",
    r"\b(?:nulla|niente|nada) (?:e |ha )?(?:cambiato|cambiado|mudou)\b",
    r"\b(?:incorrecto|incorrecta|errado|errada|equivocado|sbagliato|sbagliata|inutil|inutile|nada cambio|"
    r"nada mudou|niente e cambiato|nada ha cambiado|error|erro|errore)\b",
    r"^\W*(?:nao|no|non)\W*$",
    # nl
    r"\b(?:werkt|werkte|hielp|helpt|lukt|lukte|kan|kunnen)\s+(?:\w+\s+){0,2}(?:niet|nog steeds niet|helaas niet)\b",
    r"\bniet\s+(?:\w+\s+){0,2}(?:geholpen|opgelost|gelukt|gewerkt|beantwoord)\b", r"\bniet wat ik\b",
    r"\b(?:nog steeds|nog altijd|alweer|weer hetzelfde|hetzelfde probleem|dezelfde fout|klopt niet|fout|"
    r"foutmelding|onjuist|nutteloos|geen antwoord op)\b",
    r"^\W*(?:nee|neen)\W*$",
]))

#: It worked: a claim of success, in any reply without a sign of trouble.
SUCCESS = re.compile("|".join([
    # en
    r"\b(?:it|that|this|everything|all|fix|steps?|solution|link|reset|now it|now)\s+(?:\w+\s+)?(?:works|worked|"
    r"is working|did work|does work)\b",
    r"\b(?:works|working|worked)\s+(?:now|again|fine|perfectly|great|like a charm|for me|as expected)\b",
    r"^\W*(?:works|worked|working now)\b",
    r"\b(?:it|that|everything|all) is (?:fine|ok|okay|good) now\b", r"\b(?:that|this) did it\b",
    r"\b(?:answers|answered) my question\b", r"\b(?:opens|loads|runs|starts|syncs) (?:again|now|fine)\b",
    r"\b(?:refund|parcel|package|order|card|money|code|email|payment|transfer)\s+(?:has\s+)?(?:arrived|came through|"
    r"went through|is here)\b",
    r"\b(?:logged|got|signed|am|i am|i am back) (?:back )?in (?:fine|now|again|ok)\b|\bi am back in\b",
    r"\b(?:solved|resolved|fixed|sorted|helped|did the trick|that was it|that is it|all good|all set|"
    r"good to go|problem gone|issue gone|error is gone|back to normal|you can close|close the ticket|close this|"
    r"exactly what i needed|that is what i needed|got it working|managed to)\b",
    # de
    r"\b(?:funktioniert|klappt|lauft|geht|passt)\s*(?:jetzt|wieder|nun|alles|es wieder|es jetzt|einwandfrei|bestens)\b",
    r"\b(?:es|das) (?:funktioniert|klappt)\b",
    r"\b(?:hat (?:\w+\s+)?(?:geholfen|geklappt|funktioniert)|gelost|behoben|erledigt|alles klar|alles gut)\b",
    # fr
    r"\b(?:ca|cela|tout)\s+(?:\w+\s+)?(?:marche|fonctionne|remarche|refonctionne)\b",
    r"\b(?:resolu|regle|c'est bon|ca m'a aide|ca a marche|ca a fonctionne|ca marche|ca fonctionne|j'ai reussi)\b",
    # es
    r"\b(?:ya\s+)?(?:funciona|funciono)\b", r"\b(?:ya )?(?:pude|puedo) (?:entrar|acceder|pagar|iniciar)\b",
    r"\b(?:resuelto|resuelta|solucionado|solucionada|arreglado|ya esta|me sirvio|me ayudo|lo consegui)\b",
    # pt
    r"\b(?:funciona|funcionou|resolvido|resolvida|resolveu|ajudou|deu (?:\w+\s+)?certo|ja esta|consegui)\b",
    # it
    r"\b(?:funziona|ha funzionato|funzionato|risolto|risolta|mi ha aiutato|tutto a posto|ci sono riuscit[oa])\b",
    # nl
    r"\b(?:werkt|werkte|opgelost|gelukt|geholpen|helemaal goed|in orde)\b",
]))
#: Thanks and praise without a claim ("perfect", "super", "got it") confirm only when they are the
#: whole reply, give or take a closing: "thanks for the reply, my order number is 4521" is not a
#: confirmation, and "great, now my account is locked" is sarcasm no rule here would catch.
COURTESY = re.compile(
    r"\b(?:many thanks|thanks?|thank you|thank u|thx|ty|tyvm|cheers|appreciated|much appreciated|"
    r"perfect|perfectly|brilliant|awesome|excellent|great|fantastic|amazing|spot on|got it|makes sense|understood|"
    r"wonderful|lovely|"
    r"danke|vielen dank|besten dank|dank|perfekt|super|prima|klasse|toll|wunderbar|verstanden|"
    r"merci|parfait|impeccable|nickel|genial|top|"
    r"gracias|muchas|mil|perfecto|perfecta|excelente|entendido|listo|"
    r"obrigad[oa]|muito|perfeito|perfeita|otimo|entendi|"
    r"grazie|mille|tante|perfetto|perfetta|ottimo|fantastico|capito|"
    r"bedankt|dankjewel|dankuwel|dank je wel|dank u wel|dank je|dank u|hartelijk dank|duidelijk|helder|perfect)\b"
)
CLOSING = re.compile(
    r"\b(?:ok|okay|so much|a lot|very much|again|guys|team|everyone|all|for (?:the|your) (?:\w+\s+)?"
    r"(?:help|reply|response|answer|support|info|information|explanation|patience|time|assistance)|"
    r"have a (?:nice|good|great|lovely) (?:day|weekend|evening|one)|bye|regards|best|kind regards|you are the best|"
    r"schon|sehr|fur die (?:\w+\s+)?(?:hilfe|antwort)|schonen tag|lg|vg|gruss|beaucoup|bien|pour (?:votre|ton|la) "
    r"(?:aide|reponse)|bonne journee|cordialement|por (?:la|tu|su) (?:ayuda|respuesta)|buen dia|saludos|"
    r"pela (?:ajuda|resposta)|bom dia|abracos|per (?:l'aiuto|la risposta)|buona giornata|saluti|"
    r"voor (?:de|je|uw) (?:hulp|reactie|antwoord)|fijne dag|groeten)\b"
)
#: A "no" left beside the thanks ("no thanks") makes them a refusal, not a confirmation.
BARE_NO = frozenset({"no", "not", "nope", "nein", "non", "nee", "nao"})
#: Words that may be left once thanks, praise and a closing are taken out (a name, "so", "very").
COURTESY_LEFTOVER_WORDS = 2
#: "I'll try it", "not sure", a "but": the customer has not said it worked, or has said more.
NOT_YET = re.compile(
    r"\b(?:will|i will|ill|going to|let me|gonna|try to) (?:try|test|check|give it a try|let you know|see|look)\b|"
    r"\b(?:not sure|unsure|do not know (?:if|whether)|no idea if|i hope|hopefully)\b|"
    r"\b(?:werde|probiere|versuche) (?:es|das)\b|\bich probier|\bnicht sicher\b|\bje vais (?:essayer|tester|voir)\b|"
    r"\bpas (?:sur|certain)\b|\bvoy a (?:probar|intentar)\b|\blo pruebo\b|\bno estoy segur[oa]\b|"
    r"\bvou (?:tentar|testar|experimentar)\b|\bnao tenho certeza\b|\b(?:provo|provero|vi faccio sapere)\b|"
    r"\bnon sono sicur[oa]\b|\bik (?:ga|zal) (?:het )?(?:proberen|testen)\b|\bik probeer\b|\bniet zeker\b|"
    r"\b(?:but|aber|mais|pero|mas|ma|maar|however|jedoch|sin embargo)\b|"
    r"\b(?:anyway|anyways|trotzdem|quand meme|de todas formas|de qualquer forma|comunque|toch)\b"
)

#: Set phrases that contain a negation or problem word but are not negative.
NEUTRAL_PHRASES = re.compile(
    r"\b(?:no problem|no problemo|no worries|no prob|not a problem|no further questions|nothing else|no rush|"
    r"no more (?:issues|problems|errors?)|no (?:issues|errors?) (?:now|anymore)|(?:the )?error is gone|"
    r"no longer (?:getting|seeing|having|shows|showing) (?:the |that |this |any )?(?:error|problem|issue|message)s?|"
    r"could not be (?:happier|better)|cannot thank you enough|"
    r"kein problem|keine ursache|kein thema|kein fehler mehr|pas de (?:probleme|souci)|aucun (?:probleme|souci)|"
    r"plus d'erreur|de rien|de nada|no hay problema|sin problema|sem problema|nao ha problema|sem erro|"
    r"nessun problema|non c'e problema|di niente|nessun errore|geen probleem|geen zorgen|geen foutmelding meer)\b"
)
