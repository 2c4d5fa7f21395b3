"""Runtime settings, read from the environment when asked for, never at import time.

Every piece of local state (the SQLite file, model artifacts, demo data) lives under one directory,
``DESKLOOP_HOME``, so a demo can be wiped with one ``rm -r`` and a deployment backs up one folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from core.errors import BadInput
from core.logs import LogFormat, parse_format


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise BadInput(f"{name} must be between {low} and {high}, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """What a Deskloop process needs to know about its surroundings.

    Attributes:
        home: Root of all local state. Default: the per-user data directory
            (``~/.local/share/deskloop`` on Linux), overridable with ``DESKLOOP_HOME``.
        database_url: SQLAlchemy URL. Default: a SQLite file ``deskloop.db`` inside ``home``;
            set ``DESKLOOP_DATABASE_URL`` for PostgreSQL in production.
        redis_url: When set (``DESKLOOP_REDIS_URL``), background jobs go to RQ workers; when unset
            they run in-process, so the embedded default needs no services.
        queue_name: RQ queue used for Deskloop jobs (``DESKLOOP_QUEUE``, default ``deskloop``).
        encoder: Sentence encoder for intents and similarity (``DESKLOOP_ENCODER``): ``minilm``
            (default; all-MiniLM-L6-v2 shipped in a PyPI package, CPU) or ``none`` (n-grams only).
        encoder_dir: Where the encoder's exported ONNX graph is kept (``DESKLOOP_ENCODER_DIR``,
            default ``<home>/encoders``); derived from the installed package, so it may be shared.
        llm_url: Base URL of an OpenAI-compatible chat endpoint (``DESKLOOP_LLM_URL``, e.g.
            ``http://127.0.0.1:8080/v1``). Unset (the default) means drafts are never rewritten.
        llm_model: Model name sent to that endpoint (``DESKLOOP_LLM_MODEL``).
        llm_api_key: Its key (``DESKLOOP_LLM_API_KEY``); kept out of ``repr`` so it never reaches logs.
        secret_key: Encrypts helpdesk credentials at rest (``DESKLOOP_SECRET_KEY``; several keys
            separated by commas rotate: the first encrypts, all decrypt). Required to add or use a
            connected helpdesk, and signs operator sessions; out of ``repr``.
        session_hours: How long an operator's sign-in lasts, however active (``DESKLOOP_SESSION_HOURS``,
            default 12).
        secure_cookies: Send the session cookie only over HTTPS (``DESKLOOP_SECURE_COOKIES``; default
            on, off only when set to ``0``/``false`` for a plain-HTTP demo on one machine).
        proxy_hops: How many reverse proxies in front set ``X-Forwarded-For``/``-Proto``/``-Host``
            (``DESKLOOP_PROXY_HOPS``, default 0: such headers are ignored, so a client cannot forge
            its address or scheme).
        max_body_bytes: The largest request body accepted (``DESKLOOP_MAX_BODY_BYTES``, default 1 MiB).
        max_model_bytes: The largest model artifact stored or fetched (``DESKLOOP_MAX_MODEL_BYTES``,
            default 1 GiB): a larger one is a training bug every web machine would have to load.
        rate_login, rate_suggest, rate_auth_failures: Rate limits in Flask-Limiter's notation
            (``DESKLOOP_RATE_LOGIN``, ``DESKLOOP_RATE_SUGGEST``, ``DESKLOOP_RATE_AUTH_FAILURES``).
        rate_widget_key, rate_widget_ip: The in-app widget's requests per widget key (every customer of
            a tenant together) and per client address (``DESKLOOP_RATE_WIDGET_KEY``, ``DESKLOOP_RATE_WIDGET_IP``).
        oidc_issuer, oidc_client_id, oidc_client_secret: Single sign-on through an OpenID Connect
            provider (``DESKLOOP_OIDC_ISSUER`` and friends); unset, only passwords sign in.
        log_format: ``text`` (default: a person reads the terminal) or ``json``, one object per line
            for a log pipeline (``DESKLOOP_LOG_FORMAT``; the Procfile's processes choose ``json``).
    """

    home: Path
    database_url: str
    redis_url: str | None = None
    queue_name: str = "deskloop"
    encoder: str = "minilm"
    encoder_dir: Path | None = None
    llm_url: str | None = None
    llm_model: str = "default"
    llm_api_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_hours: int = 12
    secure_cookies: bool = True
    proxy_hops: int = 0
    max_body_bytes: int = 1024 * 1024
    max_model_bytes: int = 1024 * 1024 * 1024
    rate_login: str = "10/minute;100/hour"
    rate_suggest: str = "120/minute"
    rate_auth_failures: str = "30/minute"
    rate_widget_key: str = "600/minute"
    rate_widget_ip: str = "30/minute;300/hour"
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    log_format: LogFormat = "text"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("DESKLOOP_HOME") or platformdirs.user_data_dir("deskloop")).expanduser()
        database_url = env.get("DESKLOOP_DATABASE_URL") or f"sqlite:///{home / 'deskloop.db'}"
        return cls(
            home=home,
            database_url=database_url,
            redis_url=env.get("DESKLOOP_REDIS_URL") or None,
            queue_name=env.get("DESKLOOP_QUEUE") or "deskloop",
            encoder=env.get("DESKLOOP_ENCODER") or "minilm",
            encoder_dir=Path(env["DESKLOOP_ENCODER_DIR"]).expanduser() if env.get("DESKLOOP_ENCODER_DIR") else None,
            llm_url=env.get("DESKLOOP_LLM_URL") or None,
            llm_model=env.get("DESKLOOP_LLM_MODEL") or "default",
            llm_api_key=env.get("DESKLOOP_LLM_API_KEY") or None,
            secret_key=env.get("DESKLOOP_SECRET_KEY") or None,
            session_hours=_int(env, "DESKLOOP_SESSION_HOURS", 12, 1, 24 * 30),
            secure_cookies=(env.get("DESKLOOP_SECURE_COOKIES") or "1").strip().lower() not in ("0", "false", "no"),
            proxy_hops=_int(env, "DESKLOOP_PROXY_HOPS", 0, 0, 5),
            max_body_bytes=_int(env, "DESKLOOP_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
            max_model_bytes=_int(env, "DESKLOOP_MAX_MODEL_BYTES", 1024 * 1024 * 1024, 1024, 1 << 40),
            rate_login=env.get("DESKLOOP_RATE_LOGIN") or "10/minute;100/hour",
            rate_suggest=env.get("DESKLOOP_RATE_SUGGEST") or "120/minute",
            rate_auth_failures=env.get("DESKLOOP_RATE_AUTH_FAILURES") or "30/minute",
            rate_widget_key=env.get("DESKLOOP_RATE_WIDGET_KEY") or "600/minute",
            rate_widget_ip=env.get("DESKLOOP_RATE_WIDGET_IP") or "30/minute;300/hour",
            oidc_issuer=(env.get("DESKLOOP_OIDC_ISSUER") or "").rstrip("/") or None,
            oidc_client_id=env.get("DESKLOOP_OIDC_CLIENT_ID") or None,
            oidc_client_secret=env.get("DESKLOOP_OIDC_CLIENT_SECRET") or None,
            log_format=parse_format(env.get("DESKLOOP_LOG_FORMAT")),
        )

    @property
    def encoders_dir(self) -> Path:
        return self.encoder_dir or self.home / "encoders"

    @property
    def metrics_dir(self) -> Path:
        """Where gunicorn's workers keep their metric files when ``PROMETHEUS_MULTIPROC_DIR`` is unset."""
        return self.home / "metrics"

    @property
    def models_dir(self) -> Path:
        """This machine's verified copies of the model artifacts kept in the database, one folder
        per tenant (where an older release kept the models themselves)."""
        return self.home / "models"

    def ensure_home(self) -> None:
        """Create ``home`` readable by its owner only: it holds the database, models and keys."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.home.stat().st_uid == os.getuid() and self.home.stat().st_mode & 0o077:
            self.home.chmod(0o700)  # made earlier, or by hand, with a looser umask


#: The settings of the process that ran a job inline (no Redis): the job sees the same database and
#: home as its caller (a test's, a ``--home`` given on the command line), not the environment's.
INLINE_JOB_SETTINGS: ContextVar[Settings | None] = ContextVar("inline_job_settings", default=None)
