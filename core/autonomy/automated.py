"""Placeholder until the automated-mail module lands (replaced at merge)."""

from __future__ import annotations


def automated_reason(subject: str, body: str, requester_email: str | None, author_role: str) -> str | None:
    if author_role == "bot":
        return "written by a bot"
    if requester_email and requester_email.lower().startswith(("noreply", "no-reply", "mailer-daemon")):
        return "sent from a no-reply address"
    return None
