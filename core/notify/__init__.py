"""Alert sinks (Slack, Linear) as the core sees them: which a tenant has, their encrypted
credentials and settings, and what each posted per incident.

The core never imports a vendor package here: a notifier integration (``integrations/slack``,
``integrations/linear``) registers through the ``deskloop.integrations`` entry points with kind
``notifier`` (:mod:`core.notify.contract`) and subscribes to the ``incident`` topic of
:mod:`core.dispatch.listeners` itself.
"""
