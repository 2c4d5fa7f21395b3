"""Old dotted path of the write-back job (now :mod:`core.helpdesk.write_back`, run through the
listeners), kept so jobs queued under it before an upgrade still run; remove once no queue can
hold one."""

from core.helpdesk.write_back import write_back

__all__ = ["write_back"]
