"""Flask's signed-cookie sessions, opened only for a request that carries the cookie.

Flask builds its signing serializer (key derivation included) on every request before it looks
for a cookie. Webhooks, Canvas Kit calls and API-token requests never carry one, and a webhook
delivery paid that cost hundreds of times a second for a session it never reads. A request
without the cookie starts from an empty session, exactly what Flask would give it; one that sets
a value (a sign-in) is saved and signed as usual. Saving returns at once for a session nobody
read or changed and that holds nothing: Flask would read seven cookie settings and then do
nothing with them.
"""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin


class CookieOnlySessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not app.secret_key:
            return None  # Flask's null session: reading works, setting a value explains the missing key
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.accessed and not session.modified:
            return  # Flask adds no Vary header and sets or deletes no cookie for such a session
        super().save_session(app, session, response)
