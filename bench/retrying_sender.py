"""Send pre-signed webhook deliveries at a fixed rate, retrying the way a helpdesk does.

An open-loop sender on one asyncio loop over keep-alive connections: each delivery's first attempt
leaves at its scheduled time whatever happened before (a server that falls behind is charged for
the queue it builds), and latency is counted from that time. A delivery answered with anything but
2xx, or not answered, is sent again after 1, 2, 4, ... seconds, up to :data:`RETRY_DELAYS`, as
helpdesks retry failed webhooks. One loop costs a fraction of a core at 500 deliveries a second,
which matters when the server under test shares the machine's two cores.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Seconds before each retry of a failed delivery (about two minutes in all).
RETRY_DELAYS = (1, 2, 4, 8, 16, 32, 64)


@dataclass
class Outcome:
    first_latency_ms: float | None = None  # the first attempt's, when it was acknowledged
    attempts: int = 0
    status: int = 0  # the last answer's status; 0 when nothing answered
    acknowledged_at: float | None = None  # perf_counter time of the first 2xx


@dataclass
class Sent:
    outcomes: list[Outcome]
    started: float
    finished: float = 0.0
    failures: list[tuple[float, str]] = field(default_factory=list)  # (time, what) of failed attempts


class _Connections:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def take(self):
        if self.idle:
            return self.idle.pop()
        return await asyncio.open_connection(self.host, self.port)

    def give_back(self, connection) -> None:
        self.idle.append(connection)


async def _post(connections: _Connections, request: bytes, timeout: float) -> int:
    reader, writer = await connections.take()
    try:
        writer.write(request)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        keep = True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                keep = False
        if length:
            await asyncio.wait_for(reader.readexactly(length), timeout)
    except BaseException:
        writer.close()
        raise
    if keep:
        connections.give_back((reader, writer))
    else:
        writer.close()
    return status


def _request(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def send(base_url: str, deliveries: list[tuple[str, bytes, dict[str, str]]], rate: float,
         timeout: float = 10.0) -> Sent:
    """Send ``deliveries`` (path, body, headers) to ``base_url`` at ``rate`` per second; returns
    each one's outcome once every delivery is acknowledged or out of retries."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [_request(f"{host}:{port}", path, body, headers) for path, body, headers in deliveries]
    outcomes = [Outcome() for _ in deliveries]
    sent = Sent(outcomes, started=time.perf_counter() + 0.5)

    async def deliver(index: int, connections: _Connections) -> None:
        outcome = outcomes[index]
        scheduled = sent.started + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        for delay in (0, *RETRY_DELAYS):
            if delay:
                await asyncio.sleep(delay)
            outcome.attempts += 1
            try:
                outcome.status = await _post(connections, requests[index], timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                outcome.status = 0
                sent.failures.append((time.perf_counter(), type(exc).__name__))
                continue
            if 200 <= outcome.status < 300:
                now = time.perf_counter()
                outcome.acknowledged_at = now
                if outcome.attempts == 1:
                    outcome.first_latency_ms = (now - scheduled) * 1000
                return
            sent.failures.append((time.perf_counter(), str(outcome.status)))

    async def run() -> None:
        connections = _Connections(host, port)
        await asyncio.gather(*(deliver(i, connections) for i in range(len(requests))))
        for _, writer in connections.idle:
            writer.close()

    asyncio.run(run())
    sent.finished = time.perf_counter()
    return sent
