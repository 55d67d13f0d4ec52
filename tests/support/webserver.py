"""``emeterai serve`` as a real process on a free loopback port, for the web tests: the URL it
prints, its token, and real HTTP to it (httpx)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str  # as printed: with ?token= in local mode
    base: str  # http://127.0.0.1:PORT
    token: str | None
    stderr_path: Path

    def client(self, token: bool = True, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if token and self.token else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=self.base, headers=headers, timeout=120, **kwargs)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "emeterai", "serve", "--no-open", "--port", "0", *args]


@contextmanager
def serving(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, log: Path
) -> Iterator[Served]:
    """Start ``emeterai serve ARGS`` and stop it with Ctrl-C (SIGINT) afterwards; the URL is
    the first line of its stdout."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTHONPATH", None)
    err = log.open("w")
    process = subprocess.Popen(
        serve_command(*args),
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
        env=full_env,
        cwd=cwd,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http://"):
            process.wait(10)
            raise AssertionError(f"serve printed {line!r}; stderr: {log.read_text()}")
        base = line.split("/?", 1)[0].rstrip("/")
        token = line.split("token=", 1)[1] if "token=" in line else None
        served = Served(process, line, base, token, log)
        _wait_healthy(served)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        err.close()


def _wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + 60
    with served.client() as client:
        while True:
            try:
                if client.get("/api/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if served.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not come up: {served.stderr()}")
            time.sleep(0.1)
