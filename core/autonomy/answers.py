"""What a customer's reply to an answer Deskloop sent on its own means.

After an autonomous answer the next customer message decides what happens: ``confirmed`` (it
worked: the ticket may be solved), ``negative`` (it did not help: a person takes over and the
answer counts against the intent), ``wants_human`` (the customer asks for a person) or ``other``
(a new question, or anything these rules cannot place: the ticket goes on as usual).

Why rules and not a model: a tenant has a handful of such replies per intent, not the thousands a
classifier needs, and the phrasings are few and stable across businesses ("that worked, thanks",
"still not working", "can I talk to a person"). Rules can also be read and corrected, and they fail
towards ``other``, which is what matters: a wrong ``confirmed`` closes a ticket whose customer still
has a problem. So the order is ``wants_human`` (asked for a person, whatever else is said), then
``negative`` (any sign it did not work beats any thanks: "thanks, but it still fails"), then
``confirmed``, and a confirmation that comes with a question ("thanks, that worked. How do I ...?")
is ``other``. A bare "thanks" is ``confirmed``; "thanks, I'll try that" is not yet.

Negation is read next to the verb it negates: a success word ("works", "solved", "geholfen",
"résolu") with a negation up to two words before it, or after it where French, German and Dutch
put it ("marche pas", "funktioniert nicht", "werkt niet"), is negative. Set phrases that merely
contain a negation or problem word ("no problem", "kein Problem", "the error is gone") are taken
out first. Thanks or praise alone ("thank you so much!", "perfekt, danke") confirm; with anything
more said they do not ("thanks for the reply, my order number is 4521"). Text is lower-cased,
accents folded and English contractions expanded (:func:`normalized`), so the phrases in
:mod:`core.autonomy.answer_phrases` stay short. English is covered most; German, French, Spanish,
Portuguese, Italian and Dutch have their common phrasings.

Measured on ``tests/data/autonomy_answers.csv`` (361 replies, see ``tests/data/README.md``): on
replies written after the rules and read untouched, precision of confirmed, negative and
wants_human was 0.95 to 1.00 and recall 0.60 to 0.86, every other miss falling to ``other``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from core.autonomy import answer_phrases as phrases

Answer = Literal["confirmed", "negative", "wants_human", "other"]

#: Characters of a reply read. "It worked", "still broken" and "a person please" are said in the
#: first lines; the rules cost about 1 ms per short reply and grow with the text, so a pasted log
#: must not hold a worker.
READ_CHARS = 2_000


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'"})
_CONTRACTIONS = (
    (re.compile(r"\b(can)'?t\b"), "cannot"), (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\b(do|does|did|is|are|was|were|has|have|had|could|would|should)n'?t\b"), r"\1 not"),
    (re.compile(r"\b(it|that|what|there)'s\b"), r"\1 is"),
)


def normalized(text: str) -> str:
    """Lower case, accents folded, English contractions expanded, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def read_answer(text: str) -> Answer:
    """What the customer's reply ``text`` to an autonomous answer means (see the module docstring)."""
    words = phrases.NEUTRAL_PHRASES.sub(" ", normalized(text[:READ_CHARS]))
    asks = phrases.WANTS_HUMAN.search(words) and not phrases.DECLINES_HUMAN.search(words)
    if asks or phrases.REFUSES_BOT.search(words):
        return "wants_human"
    if phrases.NEGATIVE.search(words):
        return "negative"
    if "?" in words or phrases.NOT_YET.search(words):
        return "other"
    if phrases.SUCCESS.search(words):
        return "confirmed"
    if phrases.COURTESY.search(words):
        rest = re.findall(r"\w+", phrases.COURTESY.sub(" ", phrases.CLOSING.sub(" ", words)))
        if len(rest) <= phrases.COURTESY_LEFTOVER_WORDS and not phrases.BARE_NO.intersection(rest):
            return "confirmed"
    return "other"
