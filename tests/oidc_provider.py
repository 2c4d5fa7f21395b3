"""A real OpenID Connect provider on 127.0.0.1, for single sign-on tests.

It speaks the authorization code flow over HTTP (werkzeug's server in a thread, on a free port):
discovery, ``/authorize`` (approves at once, as a provider whose user is already signed in),
``/token`` (checks the client's id and secret, the code, the redirect URI and the PKCE verifier),
``/jwks`` and ``/userinfo``. ID tokens are RS256 JWTs signed with PyJWT, a library independent of
the one under test (Authlib), with an RSA key generated at start.

What it asserts is set per test through plain attributes (``email``, ``email_verified``...), and it
can misbehave on purpose the way a forged or misdirected answer would: sign with a key it does not
publish, name another audience or issuer, or echo another nonce.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "deskloop-tests"
CLIENT_SECRET = "provider-secret-for-tests-only"
KEY_ID = "test-key-1"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    email: str


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json",
                    headers={"Cache-Control": "no-store"})


def _error(code: str, status: int = 400) -> Response:
    return _json({"error": code}, status)


class OidcProvider:
    """Start with :meth:`start`, stop with :meth:`stop`; ``issuer`` is its base URL."""

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self._key = _new_key()
        self._forger = _new_key()  # same key id, never published: a forged signature
        # What the next sign-in asserts; tests change these freely.
        self.email: str = "admin@example.com"
        self.email_verified: bool | str | None = True
        self.forge_signature = False
        self.audience: str | list[str] | None = None  # None: the client's own id
        self.authorized_party: str | None = None  # the "azp" claim, left out when None
        self.token_issuer: str | None = None  # None: the issuer discovery announces
        self.nonce_override: str | None = None
        # What happened, for assertions.
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests = 0
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> OidcProvider:
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    # -- HTTP ------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        routes = {
            "/.well-known/openid-configuration": self._discovery,
            "/authorize": self._authorize,
            "/token": self._token,
            "/jwks": self._jwks,
            "/userinfo": self._userinfo,
        }
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    def _discovery(self, _request: Request) -> Response:
        base = self.issuer
        return _json({
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "iss", "aud", "nonce", "iat", "exp"],
        })

    def _authorize(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.authorize_requests.append(args)
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            return _error("unauthorized_client")
        if "openid" not in args.get("scope", "").split() or not args.get("redirect_uri"):
            return _error("invalid_request")
        if args.get("code_challenge") and args.get("code_challenge_method") != "S256":
            return _error("invalid_request")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[code] = _Grant(self.client_id, args["redirect_uri"], args.get("nonce"),
                                        args.get("code_challenge"), self.email)
        answer = {"code": code}
        if "state" in args:
            answer["state"] = args["state"]
        return Response(status=302, headers={"Location": f"{args['redirect_uri']}?{urlencode(answer)}"})

    def _client_credentials(self, request: Request) -> tuple[str | None, str | None]:
        if request.authorization and request.authorization.type == "basic":
            return request.authorization.username, request.authorization.password
        return request.form.get("client_id"), request.form.get("client_secret")

    def _token(self, request: Request) -> Response:
        self.token_requests += 1
        client_id, secret = self._client_credentials(request)
        if client_id != self.client_id or not secrets.compare_digest(secret or "", self.client_secret):
            return _error("invalid_client", 401)
        if request.form.get("grant_type") != "authorization_code":
            return _error("unsupported_grant_type")
        with self._lock:
            grant = self._grants.pop(request.form.get("code", ""), None)  # a code works once
        if grant is None or grant.client_id != client_id or grant.redirect_uri != request.form.get("redirect_uri"):
            return _error("invalid_grant")
        if grant.code_challenge and not _pkce_matches(grant.code_challenge, request.form.get("code_verifier")):
            return _error("invalid_grant")
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._access_tokens[access_token] = grant.email
        return _json({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                      "id_token": self._id_token(grant)})

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        claims = {
            "iss": self.token_issuer or self.issuer,
            "sub": _subject(grant.email),
            "aud": self.audience or self.client_id,
            "iat": now,
            "exp": now + 300,
            "email": grant.email,
        }
        if self.email_verified is not None:
            claims["email_verified"] = self.email_verified
        if self.authorized_party is not None:
            claims["azp"] = self.authorized_party
        nonce = self.nonce_override or grant.nonce
        if nonce is not None:
            claims["nonce"] = nonce
        key = self._forger if self.forge_signature else self._key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KEY_ID})

    def _jwks(self, _request: Request) -> Response:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        public.update(kid=KEY_ID, use="sig", alg="RS256")
        return _json({"keys": [public]})

    def _userinfo(self, request: Request) -> Response:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        with self._lock:
            email = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if email is None:
            return _error("invalid_token", 401)
        body = {"sub": _subject(email), "email": email}
        if self.email_verified is not None:
            body["email_verified"] = self.email_verified
        return _json(body)


def _subject(email: str) -> str:
    """A stable, opaque subject per email, as a provider's user id would be."""
    return hashlib.sha256(email.encode()).hexdigest()[:24]


def _pkce_matches(challenge: str, verifier: str | None) -> bool:
    if not verifier:
        return False
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return secrets.compare_digest(digest, challenge)
