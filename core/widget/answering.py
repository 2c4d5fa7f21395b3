"""Answers for a widget question, from the tenant's resolved tickets through the same machinery
as every suggestion (:func:`core.suggesting.suggest.suggest`): the draft is the evidence reply's
skeleton filled only from this customer's own words (:mod:`core.suggesting.drafting`), so the
personal-data rules of drafts hold here too. The question is stored as a suggestion (not a
ticket), so the customer's "helpful" or "not helpful" teaches like any outcome.

The page context is kept on the widget session (:mod:`core.widget.sessions`) and passed to the
suggestion: the intent and the resolution chosen depend on the page the customer is on
(:mod:`core.ml.page_context`), and the signals the session's feedback records say which page.

The answer then passes the autonomy safety rules (:mod:`core.autonomy.widget_gate`): the kill
switch, sensitive intents and accounts, and the threshold of an intent the tenant turned autonomous
can hold it back, and the widget offers a person instead."""

from __future__ import annotations

from core.autonomy.widget_gate import held_back, widget_gate
from core.ml.registry import ModelLoadError, ModelUnusable
from core.runtime import Runtime
from core.suggesting.suggest import suggest
from core.text.normalize import clean_message
from core.types import PageContext, Suggestion


def suggest_for_page(runtime: Runtime, tenant: str, question: str, context: PageContext | None,
                     account: str | None = None) -> Suggestion | None:
    """A stored suggestion for the customer's question (abstaining when the autonomy rules hold
    its answer back; ``account``: the customer's id, for the sensitive accounts), or ``None`` when
    the tenant has no model yet (the widget then says it does not know and offers a human, as for
    any abstention)."""
    text = clean_message(question)
    if not text:
        return None
    try:
        suggestion = suggest(runtime, tenant, text, page_context=context)
    except ModelUnusable:
        raise  # the operator's to fix (503), not "no answer"
    except ModelLoadError:
        return None
    return held_back(suggestion, widget_gate(runtime, tenant, suggestion, account))
