"""Throwaway PostgreSQL and Redis servers a benchmark owns, so it can kill and restart them
without touching the machine's shared ones (other benchmarks and test runs keep theirs).

PostgreSQL: a fresh cluster made with ``initdb`` in a temporary folder, owned by the ``postgres``
user (the server refuses to run as root), listening on a free loopback port. Redis: a
``redis-server`` process without persistence, as most deployments run a queue's Redis; a restart
therefore loses every queued job and flag, the worst case the webhooks' safety nets must cover.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.support import free_port


def _postgres_bin(name: str) -> str:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return found if isinstance(found, str) else found[0]


class Postgres:
    """A PostgreSQL cluster of its own on a free port; :meth:`restart` stops it the way a crash or
    an operator would (``immediate`` skips the shutdown checkpoint: recovery replays the WAL)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="deskloop-bench-pg-"))
        self.port = free_port()
        self.data = self.folder / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run(_postgres_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        self.start()
        self._run(_postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "deskloop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/deskloop"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, cwd=self.folder)

    def start(self) -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "start",
                  "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                        "-c fsync=on -c synchronous_commit=on")

    def stop(self, mode: str = "immediate") -> None:
        self._run(_postgres_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        try:
            self.stop("fast")
        except subprocess.CalledProcessError:
            pass  # already down
        shutil.rmtree(self.folder, ignore_errors=True)


class RedisServer:
    """A ``redis-server`` of its own on a free port, without persistence."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis

        client = Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                return
            except Exception:  # not listening yet
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """SIGKILL: everything it held is gone, as after a crash of a Redis without persistence."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def close(self) -> None:
        self.kill()
