"""The in-app help widget's server side, helpdesk-agnostic: each tenant's widget key, allowed
origins and identity secret (:mod:`core.widget.config`), the shape of what the widget sends
(:mod:`core.widget.requests`), customers' widget sessions (:mod:`core.widget.sessions`), answers
from the tenant's resolved tickets (:mod:`core.widget.answering`), the tickets it files
(:mod:`core.widget.filing`) and the signals it records (:mod:`core.widget.signals`). The HTTP
routes are :mod:`core.web.widget_api`; the contract the widget script codes against is
``docs/widget-api.md``."""
