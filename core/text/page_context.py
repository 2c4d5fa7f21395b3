"""The page context as an agent reads it: one short plain-text block for a ticket's private note
(the in-app widget's tickets), whichever helpdesk keeps it."""

from __future__ import annotations

import json

from core.types import PageContext

#: Elements listed in a note: the agent wants where the customer was, not the whole page.
NOTE_ELEMENTS = 20


def page_context_note(context: PageContext) -> str:
    """``Page: ...`` lines for the fields that are set, then the first elements."""
    lines = ["Where the customer was (Deskloop help widget):"]
    for label, value in (("Page", context.title), ("URL", context.url), ("Route", context.route),
                         ("Area", context.area)):
        if value:
            lines.append(f"{label}: {value}")
    if context.app_state:
        lines.append("App state: " + json.dumps(context.app_state, ensure_ascii=False, sort_keys=True))
    lines += [f"Error: {e}" for e in context.errors]
    shown = [" ".join(filter(None, (e.role and f"[{e.role}]", e.text or e.label, e.selector and f"({e.selector})")))
             for e in context.elements[:NOTE_ELEMENTS]]
    if shown:
        lines.append("On screen: " + "; ".join(s for s in shown if s))
    return "\n".join(lines)
