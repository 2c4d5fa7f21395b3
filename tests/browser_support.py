"""Shared fixtures for tests in a real browser: Debian's Chromium driven by Playwright's client
(never a downloaded browser), the real app served over HTTP, and screenshots under ``artifacts/``."""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from core.access.operators import add_operator
from core.app import create_app
from tests.access_support import STRONG_PASSWORD

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

CHROMIUM = os.environ.get("DESKLOOP_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 320, "height": 720}
#: What a Chart.js canvas holds: its type (none on a mixed chart), index axis, whether both axes are
#: stacked, its labels, each dataset's data by label, and whether it was drawn at all.
CHART_DATA = """canvas => {
  const chart = window.Chart.getChart(canvas);
  const scales = chart.options.scales || {};
  return {
    type: chart.config.type,
    axis: chart.options.indexAxis,
    stacked: scales.x?.stacked === true && scales.y?.stacked === true,
    labels: chart.data.labels,
    datasets: Object.fromEntries(chart.data.datasets.map(d => [d.label, d.data])),
    drawn: canvas.width > 0 && canvas.height > 0,
  };
}"""


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


#: The operator the browser tests sign in as (an admin: the pages under test are all theirs).
BROWSER_ADMIN = "browser-admin@example.com"


@pytest.fixture
def base_url(settings, db) -> Iterator[str]:
    """The real app on a free local port, served by werkzeug in a background thread, with an admin
    account the ``page`` fixtures sign in with (plain HTTP here, so the cookie is not Secure-only)."""
    app = create_app(replace(settings, secure_cookies=False))
    add_operator(app.extensions["deskloop"], BROWSER_ADMIN, "admin", password=STRONG_PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="playground-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["deskloop"].close()


def sign_in(page, base_url: str, email: str = BROWSER_ADMIN, password: str = STRONG_PASSWORD) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _new_page(browser, viewport: dict, request) -> Iterator:
    """A fresh page, signed in when the test serves the app (``base_url``); an uncaught script
    error, a console.error or a Content-Security-Policy violation from the page fails the test."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    # A 4xx answer is logged by Chromium as "Failed to load resource"; the page shows those itself.
    page.on("console", lambda msg: problems.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    if "base_url" in request.fixturenames:  # in a page of its own: the test's page starts blank
        signing_in = context.new_page()
        sign_in(signing_in, request.getfixturevalue("base_url"))
        signing_in.close()
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def page(browser, request) -> Iterator:
    yield from _new_page(browser, DESKTOP, request)


@pytest.fixture
def narrow_page(browser, request) -> Iterator:
    yield from _new_page(browser, NARROW, request)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def chart_data(page, test_id: str, script: str = CHART_DATA) -> dict:
    """What the chart on the canvas ``test_id`` holds (``script`` reads it), once the page's script
    has marked the canvas ``data-ready``: before that, Chart.js may still hold the last choice's data."""
    canvas = page.get_by_test_id(test_id)
    expect(canvas).to_have_attribute("data-ready", "true")
    return canvas.evaluate(script)


def assert_csv_link_downloads(page, filename: str, shown: list[tuple],
                              read: Callable[[dict[str, str]], tuple]) -> None:
    """The page's CSV link (test id ``csv-link``) downloads a file the browser saves as ``filename``
    whose rows, each turned by ``read`` into what the table shows of it, are ``shown`` in order: the
    export holds what the table lists, not merely the same report."""
    with page.expect_download() as downloading:
        page.get_by_test_id("csv-link").click()
    download = downloading.value
    assert download.suggested_filename == filename
    rows = csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8")))
    assert [read(row) for row in rows] == shown


def assert_fits_narrow(page, charts: Iterable[str] = (), min_chart_height: int = 120) -> None:
    """Nothing on the page scrolls sideways at the ``NARROW`` width (320 px), and the box of each
    chart in ``charts`` (canvas test ids) fits inside it while staying at least ``min_chart_height``
    tall: a chart squeezed to a sliver fits, but nobody can read it."""
    width = NARROW["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for test_id in charts:
        box = page.get_by_test_id(test_id).bounding_box()
        assert box is not None and box["width"] <= width and box["height"] >= min_chart_height, (test_id, box)


def assert_kept_to_its_tenant(browser, base_url: str, settings, page_path: str, api_paths: list[str],
                              own_page: str) -> object:
    """A signed-out visitor of ``page_path`` (a page of tenant acme) is sent to sign in; an operator
    of tenant beta gets 404 from it and from every one of ``api_paths`` (not even told it exists),
    and ``own_page``, beta's own, opens. Returns that page, still open, for more checks."""
    from core.runtime import Runtime

    runtime = Runtime(settings)
    try:
        add_operator(runtime, "viewer@beta.example", "viewer", ("beta",), password=STRONG_PASSWORD)
    finally:
        runtime.close()
    page = browser.new_context(viewport=DESKTOP).new_page()
    assert page.goto(base_url + page_path).url.startswith(f"{base_url}/login")  # signed out: to the sign-in
    sign_in(page, base_url, "viewer@beta.example")
    assert page.goto(base_url + page_path).status == 404
    for path in api_paths:
        assert page.request.get(base_url + path).status == 404, path
    assert page.goto(base_url + own_page).status == 200
    return page
