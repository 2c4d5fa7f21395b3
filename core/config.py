"""Runtime settings, read from the environment when asked for, never at import time.

Every piece of local state (the SQLite file, model artifacts, demo data) lives under one directory,
``DESKLOOP_HOME``, so a demo can be wiped with one ``rm -r`` and a deployment backs up one folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs


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
            connected helpdesk; out of ``repr``.
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
        )

    @property
    def encoders_dir(self) -> Path:
        return self.encoder_dir or self.home / "encoders"

    @property
    def models_dir(self) -> Path:
        """Where versioned model artifacts are stored, one folder per tenant."""
        return self.home / "models"

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
