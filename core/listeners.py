"""Old dotted path of the listener job (now :mod:`core.dispatch.listeners`), kept so jobs queued
under it before an upgrade still run; remove once no queue can hold one."""

from core.dispatch.listeners import run_listener

__all__ = ["run_listener"]
