"""The side panels in a real browser (Debian's Chromium through Playwright).

Zendesk: a harness page posts Zendesk's signed token into a 320-pixel iframe, as Zendesk does;
the ZAF SDK cannot be fetched here, so its URL is answered with a harness ``ZAFClient`` (``get``,
``invoke``, ``on``, and ``request``, whose secure-setting substitution is done by the test in
Python, where Zendesk's proxy would do it). Freshdesk: the built package's ``app/`` is served as
Freshdesk would frame it, with a harness ``app.initialized()`` client whose request templates are
rendered from the package's ``config/requests.json`` and sent by the test, as Freshworks' proxy
sends them. In both, the agent inserts the draft, edits it and sends; the test then reads the
signal from the database. Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests
from flask import Flask, Response, send_from_directory
from sqlalchemy import select

from core.helpdesk.connections import add_tenant
from core.learning.feedback import text_similarity
from core.panel.access import issue_app_token
from core.store.tables import SignalRow
from core.text.normalize import clean_message
from core.web.panel_api import UNFAMILIAR_MESSAGE
from manifests.build import build_packages
from tests.browser_support import ARTIFACTS, expect, screenshot
from tests.fake_api import serve
from tests.panel_support import ZendeskAccount, seed_tenant, zendesk_account  # noqa: F401

pytestmark = pytest.mark.browser

PANEL_WIDTH = 320
ZENDESK_AGENT = "https://acme.zendesk.com/agent/"
DESKLOOP_PUBLIC = "https://deskloop.acme.example"
BUILD_BASE = "https://deskloop.example.com"
ADDED = " I have also ordered a replacement; it ships today."

ZAF_HARNESS = r"""
(function () {
  var handlers = {};
  var ticket = %(ticket)s;
  var state = window.__zaf = { comment: "", commentType: "publicReply", tags: [], invoked: [] };
  function lookup(path) {
    if (path === "comment.text") return state.comment;
    if (path === "comment.type") return state.commentType;
    return ticket[path];
  }
  var client = {
    get: function (paths) {
      var out = { errors: {} };
      [].concat(paths).forEach(function (p) { out[p] = lookup(p); });
      return Promise.resolve(out);
    },
    invoke: function (name) {
      var args = [].slice.call(arguments, 1);
      state.invoked.push([name].concat(args));
      if (name === "comment.appendText") state.comment += args[0];
      if (name === "ticket.tags.add") state.tags = state.tags.concat(args[0]);
      return Promise.resolve({ errors: {} });
    },
    on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); },
    request: function (options) {
      return window.zafProxy(JSON.stringify(options)).then(function (raw) {
        var r = JSON.parse(raw);
        if (r.status >= 400) return Promise.reject({ status: r.status, responseText: r.body });
        return JSON.parse(r.body || "null");
      });
    },
  };
  /* Runs the ticket.save hooks as Zendesk does; resolves to their answers (false/string cancels). */
  state.save = function () {
    return Promise.all((handlers["ticket.save"] || []).map(function (fn) { return Promise.resolve(fn()); }));
  };
  window.ZAFClient = {
    init: function () {
      var query = window.location.search;
      return /[?&]origin=/.test(query) && /[?&]app_guid=/.test(query) ? client : false;
    },
  };
})();
"""

FRESH_HARNESS = r"""
(function () {
  var handlers = {};
  var state = window.__fd = { editor: "", triggered: [], ticket: %(ticket)s };
  function fire(name, data) {
    (handlers[name] || []).forEach(function (fn) {
      fn({ type: name, helper: { getData: function () { return data; }, done: function () {}, fail: function () {} } });
    });
  }
  state.fire = fire;
  var client = {
    data: { get: function (name) { return Promise.resolve({ ticket: state.ticket }); } },
    events: { on: function (name, fn) { (handlers[name] = handlers[name] || []).push(fn); } },
    request: {
      invokeTemplate: function (name, options) {
        return window.fdProxy(name, JSON.stringify(options)).then(function (raw) {
          var r = JSON.parse(raw);
          var answer = { status: r.status, response: r.response, headers: {} };
          return r.status >= 400 ? Promise.reject(answer) : answer;
        });
      },
    },
    interface: {
      trigger: function (action, args) {
        state.triggered.push([action, args]);
        if (action === "click" && args.id === "reply") state.editor = args.text;
        return Promise.resolve({});
      },
    },
  };
  window.app = {
    initialized: function () {
      setTimeout(function () { fire("app.activated", {}); }, 0);
      return Promise.resolve(client);
    },
  };
})();
"""


def zendesk_page(page, base_url: str, html: str) -> None:
    """Show ``html`` as a page of the tenant's own Zendesk account: the only site whose frames the
    sidebar's Content-Security-Policy accepts (``frame-ancestors https://acme.zendesk.com``).

    Deskloop itself is reached at a public https address, as in production, whose requests the
    test relays to the local server: Chromium would not let a public page frame a loopback one."""
    page.route(f"{ZENDESK_AGENT}**", lambda route: route.fulfill(body=html, content_type="text/html"))
    page.context.route(f"{DESKLOOP_PUBLIC}/**", lambda route: route.fulfill(  # after any page's own routes
        response=route.fetch(url=base_url + route.request.url.removeprefix(DESKLOOP_PUBLIC))))
    page.goto(f"{ZENDESK_AGENT}tickets/4242")


def zendesk_harness(page, base_url: str, account: ZendeskAccount, ticket: dict) -> object:
    """Open the sidebar as Zendesk does (a signed POST into a 320px iframe); returns the frame."""
    def zendesk_proxy(raw: str) -> str:  # Zendesk's proxy: fills secure settings, sends server side
        options = json.loads(raw)
        assert options.get("secure") is True
        headers = {k: v.replace("{{setting.deskloop_app_token}}", account.app_token)
                   for k, v in (options.get("headers") or {}).items()}
        url = options["url"].replace(DESKLOOP_PUBLIC, base_url)
        answer = requests.request(options.get("type", "GET"), url, data=options.get("data"),
                                  headers={**headers, "Content-Type": options.get("contentType", "application/json")},
                                  timeout=10)
        return json.dumps({"status": answer.status_code, "body": answer.text})

    page.expose_function("zafProxy", zendesk_proxy)
    page.route("https://static.zdassets.com/**", lambda route: route.fulfill(
        body=ZAF_HARNESS % {"ticket": json.dumps(ticket)}, content_type="application/javascript"))
    action = f"{DESKLOOP_PUBLIC}/apps/zendesk/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=guid-1"
    zendesk_page(page, base_url, f"""
        <h3 style="font-family:sans-serif">Zendesk ticket {ticket["ticket.id"]}</h3>
        <iframe name="sidebar" style="width:{PANEL_WIDTH}px;height:640px;border:1px solid #ccc"></iframe>
        <form id="signed" method="post" target="sidebar" action="{action}">
          <input type="hidden" name="token" value="{account.token()}"></form>
        <script>document.getElementById("signed").submit()</script>""")
    expect(page.frame_locator("iframe[name=sidebar]").get_by_test_id("panel-status").or_(
        page.frame_locator("iframe[name=sidebar]").get_by_test_id("panel-intent")).or_(
        page.frame_locator("iframe[name=sidebar]").get_by_test_id("panel-abstained")).first).to_be_visible()
    return page.frame(name="sidebar")


def signals_for(db, slug: str, suggestion_id: int, wait_s: float = 10) -> list[SignalRow]:
    deadline = time.monotonic() + wait_s
    while True:
        with db.tenant_session(db.tenant_id(slug)) as s:
            rows = s.scalars(select(SignalRow).where(SignalRow.suggestion_id == suggestion_id)).all()
        if rows or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def panel_shot(page, name: str) -> None:
    """The whole harness page, and the panel alone (``<name>-panel.png``, as the README shows it)."""
    screenshot(page, f"{name}.png")
    page.locator("iframe[name=sidebar]").screenshot(path=str(ARTIFACTS / f"{name}-panel.png"))


def no_horizontal_scroll(frame) -> bool:
    return frame.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_zendesk_insert_edit_and_save_records_the_edit(page, base_url, zendesk_account, db):
    ticket = {"ticket.id": 4242, "ticket.subject": "Card not here",
              "ticket.description": "My new card still has not arrived, it has been two weeks"}
    frame = zendesk_harness(page, base_url, zendesk_account, ticket)
    panel = page.frame_locator("iframe[name=sidebar]")
    expect(panel.get_by_test_id("panel-intent")).to_have_text("card_arrival")
    expect(panel.get_by_test_id("panel-confidence")).to_have_text(re.compile(r"^\d{1,3}%$"))
    expect(panel.get_by_test_id("panel-abstained")).to_have_count(0)
    expect(panel.get_by_test_id("panel-similar-link").first).to_have_attribute(
        "href", re.compile(r"^https://acme\.zendesk\.com/agent/tickets/"))
    draft = panel.get_by_test_id("panel-draft").inner_text()
    assert "5 working days" in draft

    panel.get_by_test_id("panel-tag").first.click()
    expect(panel.get_by_test_id("panel-note")).to_contain_text("Applied: card")
    assert frame.evaluate("__zaf.tags") == ["card"]

    panel.get_by_test_id("panel-insert").click()
    expect(panel.get_by_test_id("panel-note")).to_contain_text("Draft inserted")
    assert frame.evaluate("__zaf.comment") == draft
    assert no_horizontal_scroll(frame)
    panel_shot(page, "zendesk-sidebar")

    frame.evaluate("added => { __zaf.comment = '<p>' + __zaf.comment + added + '</p>'; }", ADDED)  # the agent edits
    assert frame.evaluate("__zaf.save()") == [True]  # the save is never held up

    suggestion_id = page_suggestion_id(db, "acme")
    rows = signals_for(db, "acme", suggestion_id)
    assert [r.kind for r in rows] == ["draft_edited"]
    sent = clean_message("<p>" + draft + ADDED + "</p>")
    assert rows[0].payload["sent"] == sent
    assert rows[0].payload["similarity"] == text_similarity(draft, sent)
    assert rows[0].actor == "https://acme.zendesk.com/api/v2/users/555.json"  # the signed token's agent


def page_suggestion_id(db, slug: str) -> int:
    """The newest stored suggestion: the one the panel is showing."""
    from core.store.tables import SuggestionRow

    with db.tenant_session(db.tenant_id(slug)) as s:
        return s.scalar(select(SuggestionRow.id).order_by(SuggestionRow.id.desc()).limit(1))


def test_zendesk_abstention_says_a_human_is_needed_and_a_save_records_nothing(page, base_url, zendesk_account, db):
    ticket = {"ticket.id": 9998, "ticket.subject": "Visiting",
              "ticket.description": "What are your opening hours in Paris?"}
    frame = zendesk_harness(page, base_url, zendesk_account, ticket)
    panel = page.frame_locator("iframe[name=sidebar]")
    expect(panel.get_by_test_id("panel-abstained")).to_have_text(UNFAMILIAR_MESSAGE)
    expect(panel.get_by_test_id("panel-insert")).to_have_count(0)
    expect(panel.get_by_test_id("panel-intent")).to_have_count(0)
    expect(panel.get_by_test_id("panel-tag")).to_have_count(0)
    assert no_horizontal_scroll(frame)
    panel_shot(page, "zendesk-sidebar-abstained")
    frame.evaluate("__zaf.comment = 'We open at 9.'")
    assert frame.evaluate("__zaf.save()") == [True]
    assert signals_for(db, "acme", page_suggestion_id(db, "acme"), wait_s=1) == []


def test_zendesk_slow_server_shows_a_spinner_then_a_message_and_retry_works(page, base_url, zendesk_account):
    page.add_init_script("window.DeskloopPanelTimings = { slowAfterMs: 300, giveUpMs: 1500 };")
    held = []

    def hold_the_first(route):
        if not held:
            held.append(route)  # never answered: Deskloop is stuck
        else:
            route.fallback()

    page.route("**/apps/api/tickets/*/suggestion", hold_the_first)
    ticket = {"ticket.id": 4242, "ticket.subject": "Card not here", "ticket.description": "Where is my card?"}
    zendesk_harness(page, base_url, zendesk_account, ticket)
    panel = page.frame_locator("iframe[name=sidebar]")
    expect(panel.get_by_test_id("panel-status-text")).to_have_text(re.compile("slower than usual"))
    expect(panel.locator(".dl-spinner")).to_be_visible()
    expect(panel.get_by_test_id("panel-status-text")).to_have_text(re.compile("did not answer in time"))
    panel_shot(page, "zendesk-sidebar-slow")
    panel.get_by_test_id("panel-retry").click()
    expect(panel.get_by_test_id("panel-intent")).to_have_text("card_arrival")
    held[0].abort()


def test_a_forged_token_shows_no_tenant_data_in_the_browser(page, base_url, zendesk_account):
    from tests.panel_support import new_key, zendesk_token

    action = f"{DESKLOOP_PUBLIC}/apps/zendesk/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=guid-1"
    zendesk_page(page, base_url, f"""<iframe name="sidebar" style="width:{PANEL_WIDTH}px;height:300px"></iframe>
        <form id="f" method="post" target="sidebar" action="{action}">
        <input type="hidden" name="token" value="{zendesk_token(new_key())}"></form>
        <script>document.getElementById("f").submit()</script>""")
    panel = page.frame_locator("iframe[name=sidebar]")
    expect(panel.get_by_test_id("panel-refused")).to_contain_text("could not be verified")
    expect(panel.get_by_test_id("panel-intent")).to_have_count(0)


@pytest.fixture
def freshdesk_package(tmp_path) -> Path:
    build_packages(BUILD_BASE, tmp_path / "packages")
    return tmp_path / "packages" / "freshdesk"


def freshdesk_proxy(package: Path, base_url: str, iparams: dict):
    """What Freshworks' proxy does with ``invokeTemplate``: render the package's request template
    with the call's context and the installation's (secure) parameters, and send it server side."""
    templates = json.loads((package / "config" / "requests.json").read_text())

    def render(text: str, context: dict) -> str:
        text = re.sub(r"<%=\s*context\.(\w+)\s*%>", lambda m: str(context[m.group(1)]), text)
        return re.sub(r"<%=\s*iparam\.(\w+)\s*%>", lambda m: str(iparams[m.group(1)]), text)

    def send(name: str, raw: str) -> str:
        options = json.loads(raw)
        schema = templates[name]["schema"]
        assert render(schema["host"], {}) == BUILD_BASE.removeprefix("https://")
        path = render(schema["path"], options.get("context") or {})
        headers = {k: render(v, {}) for k, v in (schema.get("headers") or {}).items()}
        answer = requests.request(schema["method"], base_url + path, data=options.get("body"), headers=headers,
                                  timeout=10)
        return json.dumps({"status": answer.status_code, "response": answer.text})

    return send


@pytest.fixture
def freshdesk_tenant(zendesk_account) -> str:
    runtime = zendesk_account.runtime
    seed_tenant(runtime, "globex", "freshdesk")
    add_tenant(runtime, "globex", "freshdesk", "globex.freshdesk.com",
               {"api_key": "fd-key", "webhook_secret": "fd-secret"}, {"write_back_tags": False})
    return issue_app_token(runtime, "globex")


def open_freshdesk(page, base_url: str, package: Path, app_token: str, ticket: dict):
    harness = FRESH_HARNESS % {"ticket": json.dumps(ticket)}
    files = Flask("freshdesk-package")

    @files.get("/app/<path:name>")
    def app_file(name: str):
        if name == "index.html":  # the platform fills in its client script
            html = (package / "app" / "index.html").read_text().replace("{{{appclient}}}", "/harness/fresh_client.js")
            return Response(html, mimetype="text/html")
        return send_from_directory(package / "app", name)

    @files.get("/harness/fresh_client.js")
    def fresh_client():
        return Response(harness, mimetype="application/javascript")

    page.expose_function("fdProxy", freshdesk_proxy(package, base_url, {"deskloop_app_token": app_token}))
    return files


def test_freshdesk_insert_edit_and_send_records_the_edit(page, base_url, freshdesk_package, freshdesk_tenant, db):
    ticket = {"id": 4242, "subject": "Card not here",
              "description_text": "My new card still has not arrived, it has been two weeks"}
    files = open_freshdesk(page, base_url, freshdesk_package, freshdesk_tenant, ticket)
    with serve(files) as package_url:
        page.set_content(f"""<h3 style="font-family:sans-serif">Freshdesk ticket 4242</h3>
            <iframe name="sidebar" src="{package_url}/app/index.html"
                    style="width:{PANEL_WIDTH}px;height:640px;border:1px solid #ccc"></iframe>""")
        panel = page.frame_locator("iframe[name=sidebar]")
        expect(panel.get_by_test_id("panel-intent")).to_have_text("card_arrival")
        expect(panel.get_by_test_id("panel-similar-link").first).to_have_attribute(
            "href", re.compile(r"^https://globex\.freshdesk\.com/a/tickets/"))
        draft = panel.get_by_test_id("panel-draft").inner_text()
        panel.get_by_test_id("panel-insert").click()
        expect(panel.get_by_test_id("panel-note")).to_contain_text("Draft inserted")
        frame = page.frame(name="sidebar")
        assert frame.evaluate("__fd.editor") == draft
        assert frame.evaluate("__fd.triggered[0]") == ["click", {"id": "reply", "text": draft}]
        assert no_horizontal_scroll(frame)
        panel_shot(page, "freshdesk-sidebar")

        edited = draft + ADDED
        frame.evaluate("text => __fd.fire('ticket.sendReply', { body_text: text })", edited)
        rows = signals_for(db, "globex", page_suggestion_id(db, "globex"))
    assert [r.kind for r in rows] == ["draft_edited"]
    assert rows[0].payload["via"] == "freshdesk-panel"
    assert rows[0].payload["similarity"] == text_similarity(draft, clean_message(edited))


def test_freshdesk_abstention_on_a_narrow_panel(page, base_url, freshdesk_package, freshdesk_tenant):
    ticket = {"id": 9998, "subject": "Visiting", "description_text": "What are your opening hours in Paris?"}
    files = open_freshdesk(page, base_url, freshdesk_package, freshdesk_tenant, ticket)
    with serve(files) as package_url:
        page.set_content(f"""<iframe name="sidebar" src="{package_url}/app/index.html"
                    style="width:{PANEL_WIDTH}px;height:400px;border:1px solid #ccc"></iframe>""")
        panel = page.frame_locator("iframe[name=sidebar]")
        expect(panel.get_by_test_id("panel-abstained")).to_have_text(UNFAMILIAR_MESSAGE)
        expect(panel.get_by_test_id("panel-insert")).to_have_count(0)
        assert no_horizontal_scroll(page.frame(name="sidebar"))
        panel_shot(page, "freshdesk-sidebar-abstained")
