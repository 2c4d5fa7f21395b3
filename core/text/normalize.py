"""Turn a raw message body (HTML or plain text, quoted replies, signatures) into the text models read.

Only the customer's new words should reach a classifier: an intent model trained on quoted agent
replies learns the agent's phrasing, and a signature's "Head of Finance" is not a refund request.
The raw body is always stored next to the cleaned one (``messages.body_raw``), so nothing is lost
when these rules improve; bump :data:`CLEANER_VERSION` then, and the next import re-cleans.

Library choice, tested on realistic mails (see ``tests/test_normalize.py``):

* ``mail-parser-reply`` has the best, maintained set of per-language reply-header patterns
  ("On <date>, X wrote:", "Am ... schrieb ...:", Outlook "From:/Sent:" blocks), so we use its patterns.
  We do not use its parser as is: its signature rule cuts real content (a hyphen list becomes a
  "signature", so does "Best regards are sent to the team but my card is blocked"), and building a
  parser per message costs ~50 µs before any matching, which alone would eat the import budget.
  So the header patterns are compiled once and only run when a cheap trigger says a header may be
  there, and signatures use the conservative rules below.
* ``email-reply-parser`` (unmaintained since 2020) deleted a whole message that began
  "From: the app, I tried to pay ..."; ``quotequail`` misses signatures altogether.

Everything here is conservative: if a rule would leave nothing, the text before that rule is kept.

Sizes are bounded (:mod:`core.text.limits`): a message is cleaned from at most its first
:data:`MESSAGE_RAW_CHARS` and its cleaned text is cut at :data:`MESSAGE_MODEL_CHARS`, a subject at
:data:`SUBJECT_MODEL_CHARS` and a ticket's model text at :data:`TICKET_MODEL_CHARS`, each cut marked.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import cache
from typing import Any

import ftfy
import lxml.html
from bs4 import BeautifulSoup
from lxml import etree
from mailparser_reply.parser import EmailMessage

from core.text.limits import (
    MESSAGE_MODEL_CHARS,
    MESSAGE_RAW_CHARS,
    SUBJECT_MODEL_CHARS,
    TICKET_MODEL_CHARS,
    marker,
    split_marker,
    truncated,
)

#: Bump when the cleaning rules change, so re-imports rewrite bodies cleaned by older rules.
CLEANER_VERSION = "3"

#: Languages whose reply headers are recognised. Polish is left out on purpose: its pattern accepts a
#: single "Data: ..." line as a reply header, which would cut English messages that quote data.
HEADER_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "sv", "da")

#: Words that open a mail-client header block; a "Date:/To:" pair without one is content (an invoice).
_FROM_WORDS = {"from", "von", "de", "van", "från", "fra", "da", "od"}

_HTML_TAG = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*(?:\s[^>]*)?/?|/[a-zA-Z][a-zA-Z0-9]*\s*)>")
_HTML_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_BLOCK_TAGS = ["address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figure",
               "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
               "ol", "section", "table", "tr", "ul"]
_DROP_TAGS = ["script", "style", "head", "title", "template", "noscript", "svg"]
_BLOCK_SET = frozenset(_BLOCK_TAGS)
_DROP_SET = frozenset(_DROP_TAGS)
_QUOTE_CLASSES = frozenset({"gmail_quote", "gmail_signature", "yahoo_quoted", "moz-cite-prefix"})
_OUTLOOK_QUOTE_IDS = frozenset({"divRplyFwdMsg", "appendonsend"})
_WHITESPACE_RUN = re.compile(r"\s+")

#: Cheap test run on every multi-line message: a line ending in a colon (every "... wrote:" header),
#: two consecutive "Word: ..." lines (Outlook blocks) or a run of dashes ("-----Original Message-----").
_MAYBE_HEADER = re.compile(
    r"[:：][ \t]*$|^[*> ]*[^\W\d_]{1,14}(?: [^\W\d_]{1,12})? ?:.*\n[*> ]*[^\W\d_]{1,14} ?:|-----", re.M
)
_ORIGINAL_MESSAGE = re.compile(r"^[ >]*-{2,} ?(?:Original Message|Ursprüngliche Nachricht|Message d'origine|"
                               r"Mensaje original|Messaggio originale|Oorspronkelijk bericht) ?-{2,}\s*$",
                               re.M | re.I)
#: Outlook separates the reply from the quoted mail with a line of underscores just before "From:".
_RULE_LINE = re.compile(r"^[_\-=]{10,}$")

_SENT_FROM = re.compile(
    r"^(?:sent from (?:my )?\S+(?: \S+){0,3}|sent (?:via|with) \S+(?: \S+){0,3}|get outlook for \S+(?: \S+){0,2}|"
    r"sent from (?:yahoo )?mail for \S+(?: \S+){0,2}|gesendet von (?:meinem )?\S+(?: \S+){0,2}|"
    r"envoyé (?:de|depuis) (?:mon )?\S+(?: \S+){0,2}|enviado desde (?:mi )?\S+(?: \S+){0,2})\.?$",
    re.I,
)
_SIGN_OFF = re.compile(
    r"^(?:thanks|thank you|thanks so much|thank you so much|many thanks|thanks again|thanks in advance|"
    r"thank you in advance|thx|ty|cheers|best|all the best|best wishes|best regards|kind regards|warm regards|"
    r"warmest regards|regards|with regards|sincerely|yours sincerely|yours truly|respectfully|br|"
    r"mit freundlichen grüßen|viele grüße|liebe grüße|gruß|cordialement|bien à vous|saludos|"
    r"un saludo|atentamente|cordiali saluti|met vriendelijke groet)[ ,.!]*$",
    re.I,
)
#: At most this many lines (name, title, company, phone) may follow a sign-off for it to be a signature.
_MAX_SIGNATURE_LINES = 6


#: Words one of a language's header patterns needs; a pattern only runs when its words are present
#: (each costs 25 to 50 µs per message, the words a microsecond).
_LANGUAGE_HINTS = {
    "en": ("wrote", "from:"), "de": ("schrieb", "von:"), "fr": ("écrit", "de :", "de:"),
    "es": ("escribió", "de:"), "it": ("scritto", "da:"), "nl": ("schreef", "van:"),
    "sv": ("skrev", "från:"), "da": ("skrev", "fra:"),
}


@cache
def _header_patterns() -> tuple[tuple[tuple[str, ...], re.Pattern[str]], ...]:
    """mail-parser-reply's reply-header patterns, one compiled regex per language (built once)."""
    patterns = []
    for language in HEADER_LANGUAGES:
        message = EmailMessage(text="", languages=[language], include_english=False)
        patterns.append((_LANGUAGE_HINTS[language], message.HEADER_REGEX))
    return tuple(patterns)


#: A message's plain text is repaired and stripped from its first this many times ``limit``
#: characters: the customer's new words open a message, and what follows them (quoted history,
#: inline quoting, a signature) rarely doubles them, so the cut text still has ``limit`` of them.
_CLEANED_FROM = 2


def clean_message(raw: str | None, limit: int = MESSAGE_MODEL_CHARS) -> str:
    """The new words of one message: plain text without quoted replies, signature or odd unicode,
    at most ``limit`` characters of it (then marked, see :mod:`core.text.limits`).

    Short single-line ASCII text (most chat messages, every Banking77 query) takes a fast path that
    only normalizes whitespace; the import budget is a few microseconds per message. A raw body
    that was cut when stored ends with a marker: it is cleaned without it and the count carried,
    as is what lies past ``_CLEANED_FROM * limit`` characters of plain text (quoted history included).
    """
    if not raw:
        return ""
    raw, cut_before = split_marker(truncated(raw, MESSAGE_RAW_CHARS))
    if "\n" not in raw and "\r" not in raw and raw.isascii() and "<" not in raw and "&" not in raw and ">" not in raw:
        text = " ".join(raw.split())
    else:
        text = html_to_text(raw) if "<" in raw and _HTML_TAG.search(raw) else _unescape(raw)
        if len(text) > _CLEANED_FROM * limit:  # the new words come first; ftfy alone costs ~5 µs a character
            cut_before += len(text) - _CLEANED_FROM * limit
            text = text[: _CLEANED_FROM * limit]
        text = fix_unicode(text)
        text = normalize_whitespace(text)
        text = strip_quoted(text)
        text = strip_signature(text)
    if cut_before:
        text = f"{text}\n{marker(cut_before)}" if text else marker(cut_before)
    return truncated(text, limit)


def _unescape(text: str) -> str:
    """Plain-text exports sometimes carry HTML entities ("AT&amp;T"); decode only real entities."""
    return html.unescape(text) if "&" in text and _HTML_ENTITY.search(text) else text


def fix_unicode(text: str) -> str:
    """Repair mojibake (ftfy) and apply NFKC, so "cafÃ©" is "café" and a full-width "１" is "1".

    Pure ASCII cannot hold mojibake, so it skips both (ftfy costs ~100 µs per message).
    """
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", ftfy.fix_text(text, unescape_html=False))


def normalize_whitespace(text: str) -> str:
    """One space between words, no trailing spaces, at most one blank line between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body, keeping paragraph and line breaks; quoted mail is dropped.

    Parsed with ``lxml.html`` and walked once. BeautifulSoup (on the same lxml parser) cost ~300 µs
    per body against ~10 µs here, which alone put HTML-heavy imports under the 5,000 tickets/s
    target; it stays as the fallback for the documents lxml refuses (an empty or comment-only body).
    """
    try:
        root = lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return BeautifulSoup(markup, "html.parser").get_text("\n")
    text, skipped_quote = _visible_text(root, drop_quotes=True)
    if skipped_quote and not text.strip():  # the whole body was a quote (a forward): keep it
        text, _ = _visible_text(root, drop_quotes=False)
    return text


def _is_quote(element) -> bool:
    """Quoted earlier mail as the clients mark it up, which is surer than reading text.

    Gmail wraps it in ``div.gmail_quote`` (and the signature in ``div.gmail_signature``), Apple Mail
    and Thunderbird in ``blockquote``, Yahoo in ``div.yahoo_quoted``.
    """
    if element.tag == "blockquote":
        return True
    classes = element.get("class")
    return bool(classes) and not _QUOTE_CLASSES.isdisjoint(classes.split())


def _visible_text(root, drop_quotes: bool) -> tuple[str, bool]:
    """Text in document order; block elements start new lines, paragraphs new paragraphs.

    Outlook on the web starts the quoted mail with ``div#divRplyFwdMsg`` (or ``#appendonsend``) and
    puts it in what follows, so the walk stops there. Returns the text and whether a quote was skipped.
    """
    out: list[str] = []
    pre_depth = 0
    skipped = False

    def add(text: str | None) -> None:
        if text:
            out.append(text if pre_depth else _WHITESPACE_RUN.sub(" ", text))

    stack: list[tuple[Any, str | None]] = [(root, None)]  # lxml elements
    while stack:
        element, closer = stack.pop()
        if closer is not None:  # leaving the element
            if closer == "pre":
                pre_depth -= 1
                closer = "\n\n"
            out.append(closer)
            add(element.tail)
            continue
        tag = element.tag
        if not isinstance(tag, str) or tag in _DROP_SET:  # comments, processing instructions, scripts
            add(element.tail)
            continue
        if tag == "br":
            out.append("\n")
            add(element.tail)
            continue
        if drop_quotes:
            if element.get("id") in _OUTLOOK_QUOTE_IDS:
                skipped = True
                break
            if _is_quote(element):
                skipped = True
                add(element.tail)
                continue
        if tag == "pre":
            pre_depth += 1
            out.append("\n\n")
            closer = "pre"
        elif tag == "p":
            out.append("\n\n")
            closer = "\n\n"
        elif tag == "li":
            out.append("\n- ")
            closer = ""
        elif tag in _BLOCK_SET:
            out.append("\n")
            closer = "\n"
        elif tag in ("td", "th"):
            closer = " "
        else:
            closer = ""
        add(element.text)
        stack.append((element, closer))
        stack.extend((child, None) for child in reversed(element))
    return "".join(out), skipped


def strip_quoted(text: str) -> str:
    """Cut the earlier mail a reply quotes: reply headers and everything after, and "> " lines."""
    if "\n" not in text:
        return text
    cut = _first_reply_header(text)
    if cut is not None:
        kept = text[:cut].rstrip()
        lines = kept.split("\n")
        while lines and (not lines[-1].strip() or _RULE_LINE.match(lines[-1].strip())):
            lines.pop()
        if lines:
            text = "\n".join(lines)
    if ">" in text:
        unquoted = [line for line in text.split("\n") if not line.startswith(">")]
        rest = [line for line in unquoted if line.strip()]
        if rest and not (len(rest) == 1 and rest[0].endswith(":")):  # not just "On ..., X wrote:"
            text = normalize_whitespace("\n".join(unquoted))
    return text


def _first_reply_header(text: str) -> int | None:
    """Offset of the first reply header with real text above it, or None."""
    if not _MAYBE_HEADER.search(text):
        return None
    best: int | None = None
    match = _ORIGINAL_MESSAGE.search(text)
    if match and text[: match.start()].strip():
        best = match.start()
    lowered = text.lower()
    for hints, pattern in _header_patterns():
        if not any(hint in lowered for hint in hints):
            continue
        for match in pattern.finditer(text):
            start = match.start()
            if best is not None and start >= best:
                break
            block = match.group(0).lstrip("\n")
            if not text[:start].strip():
                continue
            first = block.lstrip("*> ").split(":", 1)[0].strip().lower()
            if ":" in block.split("\n", 1)[0] and "\n" in block.strip() and first not in _FROM_WORDS:
                continue  # a "Date:/To:" pair with no "From:" is content, e.g. a pasted invoice
            best = start
            break
    return best


def strip_signature(text: str) -> str:
    """Remove a trailing signature: "-- " and below, "Sent from my iPhone", a sign-off name block.

    A sign-off ("Thanks,", "Kind regards") counts only near the end, alone on its line, and followed
    by at most a few short lines that read like a name, title or phone number, never a question.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line in ("--", "-- ", "—") and i > 0 and any(earlier.strip() for earlier in lines[:i]):
            lines = lines[:i]
            break
    while len(lines) > 1 and (not lines[-1].strip() or _SENT_FROM.match(lines[-1].strip())):
        lines.pop()
    start = max(1, len(lines) - _MAX_SIGNATURE_LINES - 1)
    for i in range(start, len(lines)):
        if _SIGN_OFF.match(lines[i].strip()) and _looks_like_name_block(lines[i + 1:]):
            if any(earlier.strip() for earlier in lines[:i]):
                lines = lines[:i]
            break
    return normalize_whitespace("\n".join(lines))


def _looks_like_name_block(lines: list[str]) -> bool:
    if len(lines) > _MAX_SIGNATURE_LINES:
        return False
    for line in lines:
        line = line.strip()
        if len(line) > 60 or line.endswith("?") or len(line.split()) > 8:
            return False
        if line.endswith(".") and len(line.split()) > 3:
            return False  # a sentence, not a title
    return True


def clean_subject(subject: str | None) -> str:
    """A subject without "Re:"/"Fwd:" prefixes, cleaned like a message."""
    if not subject:
        return ""
    text = clean_message(subject, SUBJECT_MODEL_CHARS).replace("\n", " ")
    return re.sub(r"^(?:\s*(?:re|fw|fwd|aw|wg|tr|rv|sv|vs)\s*(?:\[\d+\])?\s*:\s*)+", "", text, flags=re.I).strip()


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "


#: A message's opening line that only greets ("Hi,", "Hello team!", "Dear Support,", "Good morning"):
#: a salutation word, at most four more words, and a closing comma, "!" or ":" unless the line is
#: that word alone or with one more ("Hi there"), so "Hey my card is broken" is kept.
_SALUTATION = re.compile(
    r"^(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening)|hola|bonjour|hallo|guten tag|ciao|ol[aá])"
    r"(?:(?:\W+\w+){0,4}\s*[,!:]|(?:\W+\w+)?\W*)$", re.I)


def without_salutation(body: str) -> str:
    """``body`` without an opening line that only greets, when something follows it. Like a
    signature, a greeting says nothing about the question, and it is there or not by channel and
    habit: read by the models it makes the same question look different, and a question nobody
    asked before look familiar."""
    first, newline, rest = body.partition("\n")
    if newline and rest.strip() and _SALUTATION.match(first.strip()):
        return rest.strip()
    return body


def text_for_model(subject: str, bodies: list[str]) -> str:
    """What models read, from a cleaned subject and the customer's cleaned public messages (in
    order), each message without an opening greeting (:func:`without_salutation`): the subject
    first, unless its words only repeat a run of the first message's. Web
    forms, chat widgets and mail clients often fill the subject with the message's opening words;
    read twice, those words would weigh double (in the n-grams and in the mean-pooled sentence
    vector), and the same question would read differently by channel. On the simulated demo
    history (most subjects are the message's first seven words), ``bench/novelty.py`` at budget
    0.10: known questions abstained 0.110 -> 0.101, never-seen ones 0.740 -> 0.768 (the bare
    Banking77 queries in the same split give 0.106 and 0.790). Each part and the whole are cut
    to their caps (:mod:`core.text.limits`), so a stored body cleaned before the caps reads bounded too."""
    subject = truncated(subject, SUBJECT_MODEL_CHARS)
    bodies = [without_salutation(truncated(body, MESSAGE_MODEL_CHARS)) for body in bodies]
    if subject and bodies and _words(subject) in _words(bodies[0]):
        subject = ""
    return truncated("\n".join([subject, *bodies] if subject else bodies), TICKET_MODEL_CHARS)
