"""The guide an answer comes with: its steps (:func:`core.guidance.steps.extract_steps`), each
matched to an element of the page the customer is on, so the widget can highlight it.

A step is looked for under every name the tenant gives it: those the answer itself states
("Preferences (the gear icon)"), those the tenant's other replies state, and those customers
taught by completing guides (:mod:`core.widget.names`). A step whose element is not on the page
says on which of the tenant's routes Deskloop last saw it (another widget session's page), else
nothing, and the widget shows the written steps.

Selectors come only from the elements this customer's page sent with the question; another
customer's page gives at most its route, with ids replaced (:func:`core.ml.page_context.route_of`),
never a selector nor a text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.guidance.aliases import extract_aliases, names_for
from core.guidance.matching import Candidate, best_candidate, candidates, names_any
from core.guidance.steps import MAX_STEP_CHARS, extract_steps
from core.ml.page_context import route_of
from core.runtime import Runtime
from core.store.tables import WidgetSessionRow
from core.types import PageContext, PageElement
from core.widget.names import learned_aliases, stated_aliases

#: The tenant's latest widget sessions read for the route a missing step's element is on.
SEEN_SESSIONS = 200
SEEN_ROUTES = 50


def _routes_seen(runtime: Runtime, tenant_id: int, here: str | None) -> dict[str, list[Candidate]]:
    """Each route of the tenant's latest widget sessions (but the customer's own) with the names
    of the elements last seen there (the session's latest question's page), at most
    :data:`SEEN_ROUTES` routes, each element's text and label only."""
    with runtime.db.tenant_session(tenant_id) as session:
        contexts = session.scalars(
            select(WidgetSessionRow.page_context).where(WidgetSessionRow.page_context.is_not(None))
            .order_by(WidgetSessionRow.id.desc()).limit(SEEN_SESSIONS)).all()
    routes: dict[str, list[Candidate]] = {}
    for context in contexts:
        route = route_of((context or {}).get("route") or (context or {}).get("url"))
        if route is None or route == here or route in routes:
            continue
        named = {(e.get("text"), e.get("label")) for e in context.get("elements") or [] if isinstance(e, dict)}
        # Stored from a checked request: built without validating each again.
        routes[route] = candidates([PageElement.model_construct(text=text, label=label) for text, label in named])
        if len(routes) == SEEN_ROUTES:
            break
    return routes


def build_guide(runtime: Runtime, tenant_id: int, answer: str | None,
                context: PageContext | None) -> dict[str, Any] | None:
    """The ``guide`` of an ``/ask`` answer (``docs/widget-api.md``), or ``None`` when the answer
    gives no steps."""
    steps = extract_steps(answer)
    if not steps:
        return None
    pairs = [*extract_aliases(answer), *stated_aliases(runtime, tenant_id), *learned_aliases(runtime, tenant_id)]
    elements = context.elements if context is not None else []
    here = route_of(context.route or context.url) if context is not None else None
    here_candidates = candidates(elements)
    elsewhere: dict[str, list[Candidate]] | None = None
    out = []
    for text in steps:
        names = names_for(text, pairs)
        element = best_candidate(names, here_candidates)
        page = None
        if element is None or not element.selector:
            if elsewhere is None:
                elsewhere = _routes_seen(runtime, tenant_id, here)
            page = next((route for route, seen in elsewhere.items() if names_any(names, seen)), None)
        selector = element.selector if element is not None else None
        out.append({"text": text[:MAX_STEP_CHARS], "names": names, "selector": selector,
                    "on_page": selector is not None, "page": page})
    missing = next((i for i, step in enumerate(out) if not step["on_page"]), None)
    return {"steps": out, "first_missing": missing}
