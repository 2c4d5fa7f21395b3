"""A signal recorded without a suggestion (an operator confirming a ticket's intent through the
API) while the tenant's live memory is loaded is applied to it like any other, instead of failing
(the suggestion's customer name is read only when there is a suggestion)."""

from __future__ import annotations

from core.learning import live


def test_a_signal_without_a_suggestion_reaches_the_live_memory():
    live.forget()
    state = live._State(dirty=False, last_signal_id=4)
    live._states[("sqlite:///x.db", 1, "v1")] = state
    try:
        live.recorded(1, 5, "confirmed", 1.0, {}, None, 7)
        assert state.last_signal_id == 5 and not state.dirty
    finally:
        live.forget()
