"""Intelligence from the inbox: volumes per category, spikes against the tenant's own rhythm,
deploy markers, emerging clusters. Incidents are published on the ``incident`` topic of
:mod:`core.dispatch.listeners`, where notifiers (Slack, Linear) subscribe."""
