"""A live `voxtwin serve` in a subprocess on a free loopback port, for the browser test and benchmarks/serve.py."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Iterator

from voxtwin.errors import VoxtwinError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(*args: str, startup_s: float = 120.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, process) of `voxtwin serve ARGS...` once /healthz answers; stopped on exit."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "voxtwin.cli", "serve", "--port", str(port), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise VoxtwinError(f"voxtwin serve did not start: {server.stderr.read().decode().strip() if server.poll() is not None else 'timed out'}") from None
                time.sleep(0.2)
        yield url, server
    finally:
        server.terminate()
        server.wait(timeout=60)
