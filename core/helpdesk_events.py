"""Old dotted path of the event-applying job (now :mod:`core.helpdesk.webhook_events`), kept so
jobs queued under it before an upgrade still run; remove once no queue can hold one."""

from core.helpdesk.webhook_events import process_events

__all__ = ["process_events"]
