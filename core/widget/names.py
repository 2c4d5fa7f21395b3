"""The other names a tenant gives the things its guides name, kept per tenant and explainable:
each pair comes from a sentence of the tenant's own replies or from customers' clicks.

- Stated in replies: the tenant's latest agent replies are read for "Preferences (the gear
  icon)", "Settings, also called Preferences" (:func:`core.guidance.aliases.extract_aliases`), so
  a reply that says "go to Preferences" finds a page that shows "Settings". A pair counts once
  :data:`MIN_REPLIES` replies state it (a saved reply, the product's words; a single reply may
  name one customer's own things) and neither name has a digit or ``@``. Read again at most
  every :data:`REPLIES_TTL_SECONDS` per process (the pairs, not the replies, are kept).
- Taught by completed guides: a customer who completed a step by clicking an element named
  otherwise taught ``[step, name]``, kept in the guide's ``confirmed`` signal
  (:func:`taught_pairs`); a pair is used once :data:`MIN_TEACHERS` customers taught it
  (:func:`learned_aliases`): one customer's page may show their own name on a button, two
  customers' pages agreeing show the product's.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from core.guidance.aliases import MAX_ALIASES, extract_aliases
from core.guidance.matching import normalized
from core.guidance.steps import extract_steps
from core.runtime import Runtime
from core.store.tables import MessageRow, SignalRow, WidgetSessionRow

#: The tenant's latest completed guides read for the names customers taught.
LEARNED_SIGNALS = 500
MIN_TEACHERS = 2
#: Longest name taught by a click that is kept; a longer text is a sentence, not a button's name.
MAX_TAUGHT_CHARS = 40
#: The tenant's latest agent replies read for the names they state, and how often.
REPLIES_READ = 2_000
REPLIES_TTL_SECONDS = 600
#: Pairs kept per tenant from its replies, and in how many replies a pair must be stated.
MAX_REPLY_PAIRS = MAX_ALIASES * 10
MIN_REPLIES = 2

#: id(runtime) -> tenant id -> (pairs, when read: monotonic seconds); they live and die with the
#: runtime (dropped when it is collected), so a new app or test starts with none.
_stated: dict[int, dict[int, tuple[list[tuple[str, str]], float]]] = {}
_stated_lock = threading.Lock()


def stated_aliases(runtime: Runtime, tenant_id: int) -> list[tuple[str, str]]:
    """The pairs the tenant's latest public agent replies state, newest reply first."""
    now = time.monotonic()
    cached = _stated.get(id(runtime), {}).get(tenant_id)
    if cached is not None and now - cached[1] < REPLIES_TTL_SECONDS:
        return cached[0]
    with runtime.db.tenant_session(tenant_id) as session:
        bodies = session.scalars(
            select(MessageRow.body).where(MessageRow.author_role == "agent", MessageRow.public.is_(True))
            .order_by(MessageRow.id.desc()).limit(REPLIES_READ)).all()
    replies: dict[tuple[str, str], int] = defaultdict(int)
    spelled: dict[tuple[str, str], tuple[str, str]] = {}
    for body in bodies:
        for name, other in {(n, o) for n, o in extract_aliases(body) if _product_words(n) and _product_words(o)}:
            key = (normalized(name), normalized(other))
            replies[key] += 1
            spelled.setdefault(key, (name, other))
    pairs = [spelled[key] for key, count in replies.items() if count >= MIN_REPLIES][:MAX_REPLY_PAIRS]
    with _stated_lock:
        if id(runtime) not in _stated:
            _stated[id(runtime)] = {}
            weakref.finalize(runtime, _stated.pop, id(runtime), None)
        _stated[id(runtime)][tenant_id] = (pairs, now)
    return pairs


def learned_aliases(runtime: Runtime, tenant_id: int) -> list[tuple[str, str]]:
    """``(step, element's name)`` pairs taught by at least :data:`MIN_TEACHERS` customers'
    completed guides (stored in their ``confirmed`` signals' payload, ``aliases``). A customer is
    their session's user id when the host identified them, else the session: one customer
    teaching the same name in two sessions counts once."""
    with runtime.db.tenant_session(tenant_id) as session:
        payloads = session.scalars(
            select(SignalRow.payload).where(SignalRow.actor == "widget", SignalRow.kind == "confirmed",
                                            SignalRow.revoked_at.is_(None))
            .order_by(SignalRow.id.desc()).limit(LEARNED_SIGNALS)).all()
        taught = [p for p in payloads if isinstance(p, dict) and p.get("aliases")]
        users: dict[Any, str | None] = dict(session.execute(
            select(WidgetSessionRow.id, WidgetSessionRow.user_id)
            .where(WidgetSessionRow.id.in_({p.get("widget_session") for p in taught}))).all()) if taught else {}
    teachers: dict[tuple[str, str], set[Any]] = defaultdict(set)
    spelled: dict[tuple[str, str], tuple[str, str]] = {}
    for payload in taught:
        who = payload.get("widget_session")
        teacher = ("user", users[who]) if users.get(who) else ("session", who)
        for pair in payload["aliases"]:
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
                key = (normalized(pair[0]), normalized(pair[1]))
                teachers[key].add(teacher)
                spelled.setdefault(key, (pair[0], pair[1]))
    return [spelled[key] for key, who in teachers.items() if len(who) >= MIN_TEACHERS]


def _product_words(name: str) -> bool:
    """A name that could be a control's: short, without digits or ``@`` (an account's own)."""
    return 0 < len(name) <= MAX_TAUGHT_CHARS and not any(c.isdigit() or c == "@" for c in name)


def taught_pairs(answer: str | None, clicked: dict[int, str]) -> list[list[str]]:
    """The names a completed guide taught: for each step the customer completed by clicking an
    element whose name differs from the step's, ``[step, element's name]``; a name that looks
    like anything but a control's (long, digits, ``@``) is not kept."""
    steps = extract_steps(answer)
    pairs = []
    for index, text in sorted(clicked.items()):
        name = " ".join(text.split())
        if not 0 <= index < len(steps) or not _product_words(name) or normalized(name) == normalized(steps[index]):
            continue
        pairs.append([steps[index], name])
    return pairs
