"""Per-helpdesk adapters (Zendesk, Freshdesk, Intercom) and alert sinks (Slack, Linear).

Each integration is one package that translates its vendor's payloads into :mod:`core.types`.
"""
