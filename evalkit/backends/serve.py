"""``backend.serve``: evalkit starts the server it evaluates, and stops it.

``backend.serve="vllm serve MODEL --port {port}"`` (or SGLang, LMDeploy, llama.cpp's server,
``transformers serve``): the command gets a free loopback port in place of ``{port}``, runs in
its own process group with its output in the run folder's ``server.log``, and the run waits
(at most ``backend.serve_timeout_s``) until ``GET /v1/models`` answers 200. At the end of the
run, on an error and on Ctrl-C the whole process group is stopped (SIGTERM, then SIGKILL).
A command that is not found, exits early or never answers is one line with the log's last
lines.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import ConfigError

__all__ = ["Served", "free_port", "start_server", "stop_server"]

POLL_S = 0.25
STOP_GRACE_S = 10.0


@dataclass
class Served:
    """A server evalkit started: its process, port and log."""

    process: subprocess.Popen[bytes]
    port: int
    base_url: str
    log: Path


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tail(log: Path, lines: int = 5) -> str:
    try:
        with log.open("rb") as handle:
            last = deque(handle, maxlen=lines)
    except OSError:
        return ""
    text = " | ".join(b.decode("utf-8", "replace").strip() for b in last if b.strip())
    return f"; last lines of {log}: {text}" if text else f"; {log} is empty"


async def start_server(command: str, log: Path, *, timeout_s: float) -> Served:
    """Start ``command`` on a free port and wait until its ``/v1/models`` answers."""
    import aiohttp

    if "{port}" not in command:
        raise ConfigError("backend.serve must contain {port}, where evalkit puts a free port")
    port = free_port()
    argv = shlex.split(command.replace("{port}", str(port)))
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        try:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise ConfigError(f"backend.serve: cannot start '{argv[0]}': {exc.strerror}") from exc
    served = Served(process, port, f"http://127.0.0.1:{port}/v1", log)
    deadline = time.monotonic() + timeout_s
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            code = process.poll()
            if code is not None:
                raise ConfigError(
                    f"backend.serve: '{argv[0]}' exited with status {code} before it answered"
                    + _tail(log)
                )
            try:
                async with session.get(f"{served.base_url}/models") as response:
                    if response.status == 200:
                        return served
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                stop_server(served)
                raise ConfigError(
                    f"backend.serve: no answer from {served.base_url}/models within "
                    f"{timeout_s:g} s (backend.serve_timeout_s)" + _tail(log)
                )
            await asyncio.sleep(POLL_S)


def stop_server(served: Served) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after a grace period."""
    process = served.process
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
