"""One exception tree for evalkit.

::

    EvalkitError                    every error evalkit raises on purpose
    ├── ConfigError                 the run cannot start; exit non-zero with one line
    │   ├── UnknownTask
    │   ├── UnknownBackend
    │   ├── BadOverride
    │   └── MissingDependency       an optional extra or a tool (Java) is not installed
    ├── Interrupted                 SIGINT / SIGTERM: the run was sealed early (exit code 130)
    ├── DiskFull                    a file of the run could not be written: no space left
    ├── BudgetExhausted             limits.max_cost reached: the sample is a Skipped row
    ├── DataError                   one sample is unusable; it becomes an error row
    │   ├── CorruptImage
    │   └── MissingField
    ├── BackendError                one request failed for good; it becomes an error row
    │   ├── AuthError               wholesale: no request can succeed (bad key, no access)
    │   ├── RateLimited
    │   ├── ServerError
    │   │   └── Unreachable         wholesale once retried: refused, DNS, TLS
    │   ├── Timeout
    │   ├── MalformedResponse
    │   └── InvalidRequest          400-class refusals (bad parameter, content inspection)
    │       └── NotFound            wholesale: 404/405, a wrong URL path or model
    └── ScoreError                  a prediction could not be scored

User-facing messages are a single line that names what failed, where, the options and the fix.
The pipeline catches :class:`DataError` and :class:`BackendError` per sample; anything else is a
bug and is allowed to crash loudly. A *wholesale* backend error (``BackendError.wholesale``)
cannot be about one sample: the run stops at once instead of writing the same row for each.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "AuthError",
    "BackendError",
    "BadOverride",
    "BudgetExhausted",
    "ConfigError",
    "CorruptImage",
    "DataError",
    "EvalkitError",
    "Interrupted",
    "InvalidRequest",
    "MalformedResponse",
    "MissingDependency",
    "MissingField",
    "MissingPrediction",
    "NotFound",
    "RateLimited",
    "ScoreError",
    "ServerError",
    "Timeout",
    "Unreachable",
    "JudgeFailed",
    "UnknownBackend",
    "UnknownTask",
    "did_you_mean",
]


class EvalkitError(Exception):
    """Base class of every error evalkit raises on purpose."""

    def __init__(self, message: str) -> None:
        # Keep messages to one line: collapse whatever a lower layer handed us.
        super().__init__(" ".join(str(message).split()))

    @property
    def kind(self) -> str:
        """The class name, stored as ``error_type`` in result rows."""
        return type(self).__name__


class ConfigError(EvalkitError):
    """The run cannot start as configured."""


class UnknownTask(ConfigError):
    """``task=NAME`` names no task definition."""


class UnknownBackend(ConfigError):
    """``backend=NAME`` names no backend."""


class BadOverride(ConfigError):
    """A command-line override has a bad key, value or syntax."""


class MissingDependency(ConfigError):
    """An optional extra or an external tool is missing."""


class Interrupted(EvalkitError):
    """The run was stopped by a signal and sealed; rerunning the command resumes it."""


class BudgetExhausted(EvalkitError):
    """``limits.max_cost`` would be passed: the request is not sent."""

    @property
    def kind(self) -> str:
        """Rows of unsent samples read ``Skipped``."""
        return "Skipped"


class DiskFull(EvalkitError):
    """A file of the run (results, journal, cache) could not be written: the disk is full."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the device ran out of space (or quota): OS, Arrow or SQLite.

    >>> is_disk_full(OSError(28, "No space left on device")), is_disk_full(OSError(2, "x"))
    (True, False)
    """
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "no space left" in text or "disk is full" in text or "quota exceeded" in text


class DataError(EvalkitError):
    """One dataset row cannot be turned into a usable sample."""


class CorruptImage(DataError):
    """An image's bytes cannot be decoded."""


class MissingField(DataError):
    """A column the task needs is absent or empty in a row."""


class BackendError(EvalkitError):
    """A request failed for good (after any retries).

    ``status`` is the HTTP status when there was one; ``retry_after`` the server's requested
    wait in seconds (``Retry-After`` / ``retry-after-ms``), when it sent one.
    """

    wholesale = False
    """True when no other request to the same endpoint could succeed either."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AuthError(BackendError):
    """The server rejected the credentials (401/403)."""

    wholesale = True


class RateLimited(BackendError):
    """The server kept answering 429 or a throttling code."""


class ServerError(BackendError):
    """The server answered 5xx or another non-success status."""


class Unreachable(ServerError):
    """No connection to the server: refused, unknown host, TLS failure (retried, then fatal)."""

    wholesale = True


class Timeout(BackendError):
    """The request took longer than the per-attempt timeout."""


class MissingPrediction(BackendError):
    """``backend=replay``: the predictions file has no (or an empty) prediction for a sample."""


class MalformedResponse(BackendError):
    """The server answered with a body that cannot be parsed."""


class InvalidRequest(BackendError):
    """The server refused this request (400-class: bad parameter, content inspection, ...)."""


class NotFound(InvalidRequest):
    """404/405: the URL path or the model does not exist on this server."""

    wholesale = True


class JudgeFailed(EvalkitError):
    """The judge gave no readable verdict for an answer, or its request failed.

    The sample is left out of the metric and counted (``judge.min_coverage`` gates the run).
    """


class ScoreError(EvalkitError):
    """A prediction could not be scored."""


def did_you_mean(what: str, name: str, known: Iterable[str]) -> str:
    """Format the one-line 'unknown X' message with suggestions.

    >>> did_you_mean("task", "docvq", ["docvqa", "vqav2"])
    "unknown task 'docvq'; did you mean 'docvqa'? (known: docvqa, vqav2)"
    """
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {what} '{name}'{hint} (known: {', '.join(names)})"
