"""The demo is one command, and what it prints is enough to sign in: ``deskloop demo`` runs as a
user would start it, and headless Chromium signs in with the printed credentials and uses the
playground, signals and learning pages."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.browser_support import screenshot

pytestmark = pytest.mark.browser

SIGN_IN_LINE = re.compile(r"Sign in at (http://\S+/login) as (\S+) with password (\S+)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running_demo(tmp_path, encoder_dir):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKLOOP_")}
    env.update(DESKLOOP_HOME=str(tmp_path / "home"), DESKLOOP_ENCODER_DIR=str(encoder_dir))
    log = (tmp_path / "demo.log").open("w+")
    process = subprocess.Popen([sys.executable, "-m", "core.cli", "demo", "--tickets", "600", "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
                               cwd=Path(__file__).resolve().parents[1])
    try:
        deadline = time.monotonic() + 600
        found = None
        while time.monotonic() < deadline and process.poll() is None:
            log.seek(0)
            found = SIGN_IN_LINE.search(log.read())
            if found and _answers(f"http://127.0.0.1:{port}/api/v1/health"):
                break
            time.sleep(1)
        log.seek(0)
        assert found and process.poll() is None, log.read()[-3000:]
        yield found.group(1), found.group(2), found.group(3)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_the_printed_credentials_sign_in_and_the_pages_work(running_demo, browser):
    login_url, email, password = running_demo
    base = login_url.removesuffix("/login")
    assert requests.get(f"{base}/api/v1/tenants", timeout=10).status_code == 401  # nothing without them
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    try:
        page.goto(f"{base}/playground")
        assert "/login" in page.url  # sent to sign in first
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/playground")
        page.get_by_test_id("ticket-list").locator("li").first.wait_for()
        page.get_by_test_id("paste-text").fill("My card has not arrived yet, where is it?")
        page.get_by_test_id("suggest-button").click()
        page.get_by_test_id("suggestion-intent").wait_for()
        screenshot(page, "demo-signed-in-playground.png")
        for path, marker in (("/tenants/demo/signals", "draft_edited"), ("/tenants/demo/learning", "Learning")):
            answer = page.goto(f"{base}{path}")
            assert answer.status == 200, path
            assert marker in page.content(), path
    finally:
        context.close()
    assert not problems, problems
