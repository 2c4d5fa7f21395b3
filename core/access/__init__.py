"""Who may do what: operator accounts and roles, API tokens and scopes, and the audit trail.

Helpdesk-agnostic and web-agnostic: the web layer (:mod:`core.web.access`) and the CLI
(``deskloop user``, ``deskloop token``, ``deskloop audit``) both call these functions.
"""

#: What each scope allows. A route declares the one scope it needs. ``metrics`` reads ``/metrics``
#: only (every tenant's counts, no tenant data): the token a Prometheus server is given.
SCOPES = ("read", "suggest", "signals", "admin", "metrics")
ROLES = ("admin", "agent", "viewer")
#: Roles are bundles of scopes: a viewer reads, an agent also asks for suggestions and sends
#: signals, an admin also changes settings, tokens, users and models.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "agent": frozenset({"read", "suggest", "signals"}),
    "admin": frozenset(SCOPES),
}
