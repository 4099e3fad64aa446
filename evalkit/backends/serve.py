"""``backend.serve``: evalkit starts the server it evaluates, and stops it.

``backend.serve="vllm serve MODEL --port {port}"`` (or SGLang, LMDeploy, llama.cpp's server,
``transformers serve``): the command gets a free loopback port in place of ``{port}``, runs in
its own process group with its output in the run folder's ``server.log``, and the run waits
(at most ``backend.serve_timeout_s``) until ``GET /v1/models`` answers 200. At the end of the
run, on an error and on Ctrl-C the whole process group is stopped (SIGTERM, then SIGKILL),
even when the command itself has exited (a shell that backgrounded the server). Each started
server is recorded until it is stopped; a run that finds the record of a server whose evalkit
was killed (SIGKILL) says so, with the command to stop it.
A command that is not found, exits early or never answers is one line with the log's last
lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shlex
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, TypeVar

from evalkit.config import ApiConfig
from evalkit.errors import ConfigError
from evalkit.redact import is_secret_name, redact_text

__all__ = [
    "Served",
    "free_port",
    "orphaned_servers",
    "serve",
    "servers_dir",
    "serving",
    "start_server",
    "stop_server",
]

_Api = TypeVar("_Api", bound=ApiConfig)
"""An API backend's config, or a judge's (the started server's URL set in the same type)."""

_log = logging.getLogger("evalkit")

POLL_S = 0.25
STOP_GRACE_S = 10.0


@dataclass
class Served:
    """A server evalkit started: its process (the leader of its own session), port and log."""

    process: subprocess.Popen[bytes]
    port: int
    base_url: str
    log: Path
    record: Path | None = None
    """Its entry in the register of started servers (removed once it is stopped)."""
    copier: threading.Thread | None = None
    """The thread copying its output, secrets masked, into ``log``."""


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


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group ``pgid`` is left (zombies of ours aside)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a group of another user's took the number
        return False
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


# ------------------------------------------------------------------ the register of servers
def servers_dir() -> Path:
    """Where each started server is recorded until it is stopped (beside the response cache).

    A record outliving its evalkit process means that process was killed (SIGKILL, a lost
    machine) before it could stop its server: the next run that starts a server says so.
    """
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("evalkit")) / "servers"


def _register(process: subprocess.Popen[bytes], command: str, log: Path) -> Path | None:
    folder = servers_dir()
    record = folder / f"{process.pid}.json"
    entry = {"pgid": process.pid, "evalkit_pid": os.getpid(), "command": redact_text(command),
             "log": str(log), "started": time.time()}  # fmt: skip
    try:
        folder.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(entry))
    except OSError:  # the register is a courtesy: a read-only cache folder does not stop a run
        return None
    return record


def orphaned_servers() -> list[dict[str, Any]]:
    """Servers started by evalkit processes that are gone, whose groups still run.

    Records of servers that are gone too are removed.
    """
    left = []
    for record in sorted(servers_dir().glob("*.json")):
        try:
            entry = json.loads(record.read_text())
            pgid, owner = int(entry["pgid"]), int(entry["evalkit_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            record.unlink(missing_ok=True)
            continue
        if _pid_alive(owner):
            continue  # another run's server, still looked after
        if _group_alive(pgid):
            left.append(entry)
        else:
            record.unlink(missing_ok=True)
    return left


def _warn_orphans() -> None:
    for entry in orphaned_servers():
        _log.warning(
            "a server started by an earlier evalkit run (pid %s, which was killed before it "
            "could stop it) is still running: '%s', process group %s; stop it with "
            "kill -TERM -- -%s",
            entry["evalkit_pid"], entry["command"], entry["pgid"], entry["pgid"],
        )  # fmt: skip


# ------------------------------------------------------------------ start and stop
def _copy_output(source: IO[bytes], log: Path, secrets: list[str]) -> None:
    """Copy the server's output into ``log`` line by line, secrets masked (a thread)."""
    with log.open("ab") as out:
        for raw in iter(source.readline, b""):
            line = redact_text(raw.decode("utf-8", "replace"), secrets)
            out.write(line.encode("utf-8"))
            out.flush()
    source.close()


def _command_secrets(argv: list[str]) -> list[str]:
    """The values given to the command's secret-looking flags (``--api-key X``)."""
    found = []
    for i, arg in enumerate(argv):
        flag, eq, value = arg.partition("=")
        if flag.startswith("-") and is_secret_name(flag.lstrip("-")):
            found.append(value if eq else (argv[i + 1] if i + 1 < len(argv) else ""))
    return [v for v in found if v]


async def start_server(command: str, log: Path, *, timeout_s: float) -> Served:
    """Start ``command`` on a free port and wait until its ``/v1/models`` answers.

    The command leads a session of its own; whatever it starts (a shell that puts the server
    in the background and exits 0 included) stays in its process group, which
    :func:`stop_server` stops as a whole.
    """
    import aiohttp

    if "{port}" not in command:
        raise ConfigError("backend.serve must contain {port}, where evalkit puts a free port")
    _warn_orphans()
    port = free_port()
    argv = shlex.split(command.replace("{port}", str(port)))
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    except OSError as exc:
        raise ConfigError(f"backend.serve: cannot start '{argv[0]}': {exc.strerror}") from exc
    assert process.stdout is not None
    copier = threading.Thread(target=_copy_output, name="evalkit-serve-log", daemon=True,
                              args=(process.stdout, log, _command_secrets(argv)))  # fmt: skip
    copier.start()
    served = Served(process, port, f"http://127.0.0.1:{port}/v1", log,
                    _register(process, command, log), copier)  # fmt: skip
    deadline = time.monotonic() + timeout_s
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            code = process.poll()
            # a leader that exited 0 may have left the server running in its group
            if code is not None and (code != 0 or not _group_alive(process.pid)):
                stop_server(served)
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


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group(process: subprocess.Popen[bytes], until: float) -> bool:
    """Wait until the group is gone (reaping its leader); whether it went in time."""
    while time.monotonic() < until:
        process.poll()
        if not _group_alive(process.pid):
            return True
        time.sleep(0.05)
    return False


async def serve(config: _Api, log: Path) -> tuple[_Api, Served]:
    """Start ``config.serve`` (its output in ``log``); the config that asks it, and the server."""
    served = await start_server(config.serve or "", log, timeout_s=config.serve_timeout_s)
    return replace(config, base_url=served.base_url), served


@contextlib.asynccontextmanager
async def serving(config: _Api, log_dir: Path | None, log_name: str) -> AsyncIterator[_Api]:
    """``config`` with its ``serve`` command started (the model's server, or the judge's).

    Its output goes to ``log_dir/log_name`` (a temporary folder without ``log_dir``); it is
    stopped on exit, on errors and interrupts too. A config without ``serve``: as it is.
    """
    if not config.serve:
        yield config
        return
    started, served = await serve(config, (log_dir or Path(tempfile.gettempdir())) / log_name)
    try:
        yield started
    finally:
        stop_server(served)


def stop_server(served: Served) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after a grace period.

    The group is signalled even when its leader has exited: a command that forked the server
    into the background leaves it in the group.
    """
    process, pgid = served.process, served.process.pid
    if _group_alive(pgid):
        _signal_group(pgid, signal.SIGTERM)
        if not _wait_group(process, time.monotonic() + STOP_GRACE_S):
            _signal_group(pgid, signal.SIGKILL)
            _wait_group(process, time.monotonic() + STOP_GRACE_S)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(1)
    if served.copier is not None:
        served.copier.join(timeout=2)
    if served.record is not None:
        served.record.unlink(missing_ok=True)
