"""The backend protocol: one async ``generate`` plus a retry-classification hook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from evalkit.records import Completion, Request

__all__ = ["Backend", "BackendIdentity", "RetryDecision"]


@dataclass(frozen=True, slots=True)
class BackendIdentity:
    """Who answers: recorded in every row and part of every cache key."""

    name: str
    """Backend kind (``baseline``, ``openai``, ``dashscope``, ...)."""
    model: str
    """Model identifier."""
    base_url: str | None = None
    """Server URL; ``None`` for in-process backends."""
    revision: str | None = None
    """Model revision when known."""


class RetryDecision(StrEnum):
    """How a failed attempt is treated."""

    retry = "retry"
    """Transient: try again after a backoff."""
    rate_limit = "rate_limit"
    """Throttled: try again after a backoff and shrink the concurrency."""
    fail = "fail"
    """Permanent: the sample becomes an error row now."""


@runtime_checkable
class Backend(Protocol):
    """Anything that turns a :class:`Request` into a :class:`Completion`."""

    identity: BackendIdentity
    cacheable: bool
    """Whether answers are worth caching (API calls are; the free, instant baseline is not)."""

    def cache_options(self) -> Mapping[str, Any]:
        """Backend options that change answers, beyond the request (part of the cache key)."""
        ...

    async def generate(self, request: Request) -> Completion:
        """Answer one request; raise :class:`~evalkit.errors.BackendError` on failure."""
        ...

    def classify(self, error: Exception) -> RetryDecision:
        """Whether a failed attempt may be retried."""
        ...

    async def aclose(self) -> None:
        """Release connections and processes."""
        ...
