"""The insights pages of a tenant. The spike-alerts page: a category's hourly volume against the band its rhythm
expects, incidents and deploy markers on the same chart, the incidents in a table and the
emerging groups with example tickets.

The page carries no tenant data: its script reads everything from the JSON API
(``/api/v1/tenants/<slug>/insights/categories``, ``.../volumes``, ``.../incidents``,
``.../deploys`` and ``.../insights/emerging``), so what a person sees is exactly what a token
with the ``read`` scope gets, and ticket subjects (customer text) are only ever set as text.

The feature-requests page: requested capabilities per product area and per capability (the last
four weeks against the four before), a sortable table whose rows open onto their example tickets
and the accounts asking, and the CSV of the same report; read from
``/api/v1/tenants/<slug>/insights/feature-requests`` on the same terms.

The knowledge-gaps page: the intents and clusters where answers are missing, their scores stacked
by measure, a table whose rows open onto the proposed article (copied as the same Markdown the
export writes), and the CSV; read from ``/api/v1/tenants/<slug>/insights/knowledge-gaps`` and
``.../knowledge-gaps/<key>.md`` on the same terms.

The weekly digest page: the learning loop's last four weeks on a chart and the digest's sections
(churn risks, rising requests, knowledge gaps, spikes) as tables and lists, for the week in
``?week=`` or the last one; read from ``/api/v1/tenants/<slug>/insights/digest``.

The accounts-at-risk page: which churn score is in use (rules or learned, with its measured AUC),
the accounts in a sortable table, the top ones' scores split by reason, and one account's
timeline of tickets (its name in ``?account=``, so it can be linked); read from
``/api/v1/tenants/<slug>/insights/accounts`` and ``.../accounts/<account>``. Account names are
customer data: the page never carries them, its script writes them only as text.

The autonomy page: the kill switch with a Pause/Resume button (shown to operators with the
``admin`` scope; the POST carries the page's CSRF token), each intent's mode, threshold and shadow
evidence, the measures of autonomous replies and the latest kept backtest; read from
``/api/v1/tenants/<slug>/autonomy/status``, ``.../shadow``, ``.../measures`` and ``.../backtest``.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from core.insights.overview import MAX_HOURS
from core.store.db import UnknownTenantError
from core.web.access import operator

blueprint = Blueprint("insights", __name__)


def _known_tenant(slug: str) -> None:
    try:
        current_app.extensions["deskloop"].db.tenant_id(slug)
    except UnknownTenantError:
        abort(404)


def _add_page(path: str, endpoint: str, template: str, **context: object) -> None:
    """Serve ``template`` at ``/tenants/<slug>/<path>`` under ``endpoint``.

    Every insights page is the same view: an operator who may read the tenant gets the template,
    which holds no tenant data (its script asks the API); an unknown tenant, or one the operator
    does not see, is a 404, and a signed-out visitor is sent to sign in. Each page still gets a
    view of its own, since the access rule is read from the view function of its endpoint.
    """

    @operator("read")
    def page(slug: str) -> str:
        _known_tenant(slug)
        return render_template(template, slug=slug, **context)

    page.__name__ = page.__qualname__ = endpoint
    blueprint.add_url_rule(f"/tenants/<slug>/{path}", endpoint, page, methods=["GET"])


_add_page("insights", "insights_page", "insights.html", max_hours=MAX_HOURS)
_add_page("feature-requests", "feature_requests_page", "feature_requests.html")
_add_page("knowledge-gaps", "knowledge_gaps_page", "knowledge_gaps.html")
_add_page("digest", "digest_page", "digest.html")
_add_page("accounts", "accounts_page", "accounts.html")
_add_page("autonomy", "autonomy_page", "autonomy.html")
