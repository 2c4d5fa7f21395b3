"""Deskloop's helpdesk-agnostic core: the common vocabulary, storage, learning and the web app.

Nothing under ``core`` imports a helpdesk vendor package; adapters in ``integrations`` translate
vendor payloads into the types defined in :mod:`core.types`.
"""
