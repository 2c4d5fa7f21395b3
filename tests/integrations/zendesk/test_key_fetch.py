"""Fetching Zendesk's app public key: a key URL that fails or hangs costs one fetch per
``FAILURE_TTL_SECONDS``, one fetch at a time, however many forged tokens name the account."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.helpdesk.contract import Connection
from core.panel.access import AccessDenied
from integrations.zendesk import signed_urls
from integrations.zendesk.signed_urls import KeyUnavailable, forget_keys, verify_token
from tests.panel_support import APP_ID, new_key, public_pem, zendesk_token


class KeyServer:
    """A local Zendesk that serves ``/api/v2/apps/<id>/public_key.pem`` as told: ``ok``, ``fail``
    (HTTP 500) or ``hang`` (answers after ``hang_seconds``); counts every fetch."""

    def __init__(self, pem: str) -> None:
        self.pem, self.mode, self.hang_seconds, self.fetches = pem, "ok", 3.0, 0
        self._lock = threading.Lock()
        self.release = threading.Event()

    def handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with server._lock:
                    server.fetches += 1
                if server.mode == "hang":
                    server.release.wait(server.hang_seconds)
                status, body = (200, server.pem) if server.mode == "ok" else (500, "boom")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args) -> None:
                pass

        return Handler


@contextmanager
def key_server(pem: str) -> Iterator[tuple[KeyServer, str]]:
    state = KeyServer(pem)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def key():
    return new_key()


@pytest.fixture
def account(key, monkeypatch):
    forget_keys()
    monkeypatch.setattr(signed_urls, "FETCH_TIMEOUT_SECONDS", 1)
    with key_server(public_pem(key)) as (server, url):
        conn = Connection("acme", "zendesk", "acme.zendesk.com", {}, {"zendesk_app_id": str(APP_ID), "api_url": url})
        yield server, conn
    forget_keys()


def test_a_failing_key_url_is_fetched_once_per_failure_window(account, key):
    server, conn = account
    server.mode = "fail"
    forged = zendesk_token(new_key())
    for _ in range(20):
        with pytest.raises(KeyUnavailable) as refused:
            verify_token(forged, conn)
    assert server.fetches == 1
    assert 0 < refused.value.retry_after <= signed_urls.FAILURE_TTL_SECONDS + 1
    # Within the window even a genuine token is answered at once (503, retry later), without a fetch.
    server.mode = "ok"
    with pytest.raises(KeyUnavailable):
        verify_token(zendesk_token(key), conn)
    assert server.fetches == 1


def test_after_the_failure_window_the_key_is_fetched_again(account, key, monkeypatch):
    server, conn = account
    monkeypatch.setattr(signed_urls, "FAILURE_TTL_SECONDS", 0.5)
    server.mode = "fail"
    with pytest.raises(KeyUnavailable):
        verify_token(zendesk_token(key), conn)
    server.mode = "ok"
    time.sleep(0.6)
    assert verify_token(zendesk_token(key), conn)["iss"] == "acme.zendesk.com"
    assert server.fetches == 2


def test_a_hanging_key_url_holds_one_thread_and_the_others_fail_fast(account, key, monkeypatch):
    server, conn = account
    server.mode, server.hang_seconds = "hang", 5.0
    monkeypatch.setattr(signed_urls, "FETCH_TIMEOUT_SECONDS", 2)
    monkeypatch.setattr(signed_urls, "WAIT_FOR_FETCH_SECONDS", 0.2)
    forged = [zendesk_token(new_key()) for _ in range(16)]

    def attempt(token: str) -> tuple[str, float]:
        started = time.monotonic()
        try:
            verify_token(token, conn)
            return "verified", time.monotonic() - started
        except KeyUnavailable:
            return "unavailable", time.monotonic() - started
        except AccessDenied:
            return "denied", time.monotonic() - started

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(attempt, forged))
    assert server.fetches == 1  # one fetch in flight, not sixteen
    assert {o for o, _ in outcomes} == {"unavailable"}
    slow = [t for _, t in outcomes if t >= 1.5]
    assert len(slow) == 1, "only the thread that fetched waits for the timeout"
    # And the failure is remembered: more forged tokens cost nothing.
    for token in forged[:5]:
        with pytest.raises(KeyUnavailable):
            verify_token(token, conn)
    assert server.fetches == 1


def test_a_cached_key_keeps_serving_while_a_refetch_fails(account, key, monkeypatch):
    """A forged token asks for a refetch (at most once a minute); when that fails, the key already
    held still verifies genuine tokens and the forged ones are 401, not 503."""
    server, conn = account
    assert verify_token(zendesk_token(key), conn)
    assert server.fetches == 1
    monkeypatch.setattr(signed_urls, "REFETCH_AFTER_SECONDS", 0)
    server.mode = "fail"
    for _ in range(10):
        with pytest.raises(AccessDenied):
            verify_token(zendesk_token(new_key()), conn)
        assert verify_token(zendesk_token(key), conn)
    assert server.fetches == 2  # one refetch, then the failure window
