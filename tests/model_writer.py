"""A process that stores a model and stops half-way, for the test that kills it there.

Run as ``python -m tests.model_writer DATABASE_URL MODELS_DIR``: it prints ``writing`` once two
chunks of a 1 MiB model are in its open transaction, then waits to be killed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from core.ml.registry import ModelRegistry
from core.store import artifacts
from core.store.db import Database


def _stalls_at_the_third_chunk():
    real, calls = artifacts.insert, []

    def insert(table):
        calls.append(table)
        if len(calls) == 3:
            print("writing", flush=True)
            time.sleep(600)
        return real(table)

    return insert


def main(url: str, models_dir: str) -> None:
    artifacts.insert = _stalls_at_the_third_chunk()  # type: ignore[assignment]  # the stall is the point
    registry = ModelRegistry(Path(models_dir), "acme", "suggestions", db=Database(url), chunk_bytes=64 * 1024)
    registry.save(os.urandom(1 << 20), {})


if __name__ == "__main__":
    main(*sys.argv[1:3])
