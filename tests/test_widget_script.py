"""The widget script as shipped: served by ``/widget/v1/widget.js`` (public, cached, the right
type), small enough for every page view of a host, and never parsing text as HTML."""

from __future__ import annotations

import gzip
from dataclasses import replace

from core.app import create_app
from core.web.widget_api import SCRIPT_DIR, SCRIPT_MAX_AGE

SCRIPT = SCRIPT_DIR / "widget.js"
#: The budget a host page pays for the widget, gzipped (issue 21).
MAX_GZIPPED_BYTES = 20 * 1024


def test_the_script_fits_its_gzipped_budget():
    size = len(gzip.compress(SCRIPT.read_bytes(), compresslevel=9))
    assert 0 < size <= MAX_GZIPPED_BYTES, size


def test_the_script_never_sets_markup():
    source = SCRIPT.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink


def test_the_script_is_served_publicly_with_a_long_cache(settings, db):
    app = create_app(replace(settings, secure_cookies=False))
    try:
        answer = app.test_client().get("/widget/v1/widget.js", headers={"Origin": "https://app.example.com"})
        assert answer.status_code == 200
        assert answer.mimetype == "text/javascript"
        assert f"max-age={SCRIPT_MAX_AGE}" in answer.headers["Cache-Control"] and SCRIPT_MAX_AGE >= 86400
        assert answer.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert answer.data == SCRIPT.read_bytes()
        assert app.test_client().post("/widget/v1/widget.js").status_code == 405
    finally:
        app.extensions["deskloop"].close()
