"""How much of a message and of a ticket Deskloop keeps, and how much its models read.

A support message is a few sentences; the long ones are pasted logs, forwarded threads, a
document copied inline or an HTML mail with its styles. Their question is in the first lines, and
every text model costs at least linear time in what it reads (the sentence encoder itself reads
only its first 256 tokens). Without a cap one hostile or careless ticket held a worker for
minutes: a signed 10 MB webhook cost 30 s and 3.5 GB. So:

- **Raw**, as the helpdesk sent it, is kept up to :data:`MESSAGE_RAW_CHARS` per message and
  :data:`TICKET_RAW_CHARS` per ticket (``messages.body_raw``, what an agent can reread). 256,000
  characters hold any real mail with its HTML (Outlook and Gmail bodies are 5 to 150 KB); past
  that it is an inline attachment (a base64 image, a log), which no one reads in a helpdesk.
  A million characters per ticket is forty such mails; a message past the ticket's budget still
  keeps its first :data:`MESSAGE_RAW_FLOOR_CHARS`, so a long thread never loses a message's start.
- **What models read** is cut further: :data:`MESSAGE_MODEL_CHARS` of a message's cleaned text
  (20,000 characters, about 3,000 words or eight printed pages, the cap the HTTP API already puts
  on a customer's message and a sent reply), :data:`SUBJECT_MODEL_CHARS` of a subject, and
  :data:`TICKET_MODEL_CHARS` of a ticket's model text (the subject and every customer message).

A cut text ends with :func:`marker`, ``[... truncated N characters]``, on its own line, so an
agent reading the cleaned text and a model reading it can both tell that more was said. ``N``
counts the characters left out; when a raw body was already cut, its count is carried into the
cleaned text's marker (the two counts are of raw and of cleaned characters, so the sum says "at
least this much more", not an exact figure).
"""

from __future__ import annotations

import re

#: Characters of one message's raw body kept as received.
MESSAGE_RAW_CHARS = 256_000
#: Characters of raw bodies kept per ticket, all messages together.
TICKET_RAW_CHARS = 1_000_000
#: What a message keeps even past its ticket's raw budget.
MESSAGE_RAW_FLOOR_CHARS = 2_000
#: Characters of one message's cleaned text that models read.
MESSAGE_MODEL_CHARS = 20_000
#: Characters of a cleaned subject that models read (helpdesks show about 150).
SUBJECT_MODEL_CHARS = 1_000
#: Characters of a ticket's model text: the subject and the customer's messages together.
TICKET_MODEL_CHARS = 50_000
#: A cut prefers a line break or a space among the last this many characters before the limit, so
#: the kept text does not end in half a word.
_SOFT_EDGE = 200

_MARKER = re.compile(r"\n*\[\.\.\. truncated (\d+) characters\]\s*\Z")


def marker(left_out: int) -> str:
    """The visible note that ends a cut text."""
    return f"[... truncated {left_out} characters]"


def split_marker(text: str) -> tuple[str, int]:
    """``text`` without a trailing :func:`marker`, and how many characters that marker said were
    left out (0 without one)."""
    if "[... truncated" not in text[-60:]:
        return text, 0
    found = _MARKER.search(text, max(0, len(text) - 60))
    if found is None:
        return text, 0
    return text[: found.start()], int(found.group(1))


def truncated(text: str, limit: int) -> str:
    """``text`` when it has at most ``limit`` characters (a trailing marker not counted), else its
    first ``limit`` characters at most, cut at a line break or space near the limit when there is
    one, and a :func:`marker` on a line of its own counting everything left out."""
    if len(text) <= limit:
        return text
    body, earlier = split_marker(text)
    if len(body) <= limit:
        return text
    cut = _cut_at(body, limit)
    return f"{body[:cut].rstrip()}\n{marker(len(body) - cut + earlier)}"


def _cut_at(text: str, limit: int) -> int:
    window = text[max(0, limit - _SOFT_EDGE): limit + 1]
    for separator in ("\n", " "):
        at = window.rfind(separator)
        if at > 0:
            return max(0, limit - _SOFT_EDGE) + at
    return limit


def raw_budgets(lengths: list[int], already: int = 0) -> list[int]:
    """How many raw characters each of a ticket's messages keeps, in order: at most
    :data:`MESSAGE_RAW_CHARS` each, and :data:`TICKET_RAW_CHARS` in all (``already`` being what
    the ticket stores before them), but never less than :data:`MESSAGE_RAW_FLOOR_CHARS`."""
    left = TICKET_RAW_CHARS - already
    budgets = []
    for length in lengths:
        budget = max(MESSAGE_RAW_FLOOR_CHARS, min(MESSAGE_RAW_CHARS, left))
        budgets.append(budget)
        left -= min(length, budget)
    return budgets


def bounded_model_text(text: str) -> str:
    """A model text as a model may read it: a stored one written before the caps existed can be
    any length, so every reader of ``tickets.text`` goes through this."""
    return truncated(text, TICKET_MODEL_CHARS)
