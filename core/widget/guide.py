"""The guide an answer comes with: its steps (:func:`core.guidance.steps.extract_steps`), each
matched to an element of the page the customer is on, so the widget can highlight it.

A step is looked for under every name the tenant gives it: those the answer itself states
("Preferences (the gear icon)") and those customers taught by completing a guide with a click on
an element named otherwise (:func:`learned_aliases`). A step whose element is not on the page
says on which of the tenant's routes Deskloop last saw it (another widget session's page), else
nothing, and the widget shows the written steps.

Selectors come only from the elements this customer's page sent with the question; another
customer's page gives at most its route, with ids replaced (:func:`core.ml.page_context.route_of`),
never a selector nor a text. A name learned from a completed guide is used once two customers'
sessions taught it (:data:`MIN_TEACHERS`): one customer's page may show their own name on a
button, two customers' pages agreeing show the product's.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from core.guidance.aliases import extract_aliases, names_for
from core.guidance.matching import best_element, normalized
from core.guidance.steps import MAX_STEP_CHARS, extract_steps
from core.ml.page_context import route_of
from core.runtime import Runtime
from core.store.tables import SignalRow, WidgetSessionRow
from core.types import PageContext, PageElement

#: The tenant's latest widget sessions read for the route a missing step's element is on.
SEEN_SESSIONS = 200
#: The tenant's latest completed guides read for the names customers taught.
LEARNED_SIGNALS = 500
MIN_TEACHERS = 2
#: Longest name taught by a click that is kept; a longer text is a sentence, not a button's name.
MAX_TAUGHT_CHARS = 40


def learned_aliases(runtime: Runtime, tenant_id: int) -> list[tuple[str, str]]:
    """``(step, element's name)`` pairs taught by at least :data:`MIN_TEACHERS` sessions'
    completed guides (stored in their ``confirmed`` signals' payload, ``aliases``)."""
    with runtime.db.tenant_session(tenant_id) as session:
        payloads = session.scalars(
            select(SignalRow.payload).where(SignalRow.actor == "widget", SignalRow.kind == "confirmed",
                                            SignalRow.revoked_at.is_(None))
            .order_by(SignalRow.id.desc()).limit(LEARNED_SIGNALS)).all()
    teachers: dict[tuple[str, str], set[Any]] = defaultdict(set)
    spelled: dict[tuple[str, str], tuple[str, str]] = {}
    for payload in payloads:
        for pair in (payload or {}).get("aliases") or []:
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
                key = (normalized(pair[0]), normalized(pair[1]))
                teachers[key].add(payload.get("widget_session"))
                spelled.setdefault(key, (pair[0], pair[1]))
    return [spelled[key] for key, who in teachers.items() if len(who) >= MIN_TEACHERS]


def taught_pairs(answer: str | None, clicked: dict[int, str]) -> list[list[str]]:
    """The names a completed guide taught: for each step the customer completed by clicking an
    element whose name differs from the step's, ``[step, element's name]``; a name that looks
    like anything but a control's (long, digits, ``@``) is not kept."""
    steps = extract_steps(answer)
    pairs = []
    for index, text in sorted(clicked.items()):
        name = " ".join(text.split())
        if not 0 <= index < len(steps) or not name or len(name) > MAX_TAUGHT_CHARS:
            continue
        if any(c.isdigit() or c == "@" for c in name) or normalized(name) == normalized(steps[index]):
            continue
        pairs.append([steps[index], name])
    return pairs


def _routes_seen(runtime: Runtime, tenant_id: int, here: str | None) -> dict[str, list[PageElement]]:
    """Each route of the tenant's latest widget sessions (but the customer's own) with the
    elements last seen there."""
    with runtime.db.tenant_session(tenant_id) as session:
        contexts = session.scalars(
            select(WidgetSessionRow.page_context).where(WidgetSessionRow.page_context.is_not(None))
            .order_by(WidgetSessionRow.updated_at.desc()).limit(SEEN_SESSIONS)).all()
    routes: dict[str, list[PageElement]] = {}
    for context in contexts:
        route = route_of((context or {}).get("route") or (context or {}).get("url"))
        if route is None or route == here or route in routes:
            continue
        routes[route] = [PageElement.model_validate(e) for e in context.get("elements") or []
                         if isinstance(e, dict)]
    return routes


def build_guide(runtime: Runtime, tenant_id: int, answer: str | None,
                context: PageContext | None) -> dict[str, Any] | None:
    """The ``guide`` of an ``/ask`` answer (``docs/widget-api.md``), or ``None`` when the answer
    gives no steps."""
    steps = extract_steps(answer)
    if not steps:
        return None
    pairs = [*extract_aliases(answer), *learned_aliases(runtime, tenant_id)]
    elements = context.elements if context is not None else []
    here = route_of(context.route or context.url) if context is not None else None
    elsewhere: dict[str, list[PageElement]] | None = None
    out = []
    for text in steps:
        names = names_for(text, pairs)
        element = best_element(names, elements)
        page = None
        if element is None or not element.selector:
            if elsewhere is None:
                elsewhere = _routes_seen(runtime, tenant_id, here)
            page = next((route for route, seen in elsewhere.items() if best_element(names, seen, fuzzy=False)), None)
        selector = element.selector if element is not None else None
        out.append({"text": text[:MAX_STEP_CHARS], "names": names, "selector": selector,
                    "on_page": selector is not None, "page": page})
    missing = next((i for i, step in enumerate(out) if not step["on_page"]), None)
    return {"steps": out, "first_missing": missing}
