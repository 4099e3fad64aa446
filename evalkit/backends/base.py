"""The backend contract: one async ``generate``, and what a backend is, said explicitly.

Besides answering, a backend states:

* ``priced``: its answers cost money (remote and priced: the run looks up the model's price,
  warns when there is none, and applies ``limits.max_cost``); the baseline and local models
  are free;
* ``may_cache(request)``: whether this request's answer may be stored in (and read from) the
  response cache; never a sampled one (temperature > 0), as inspect_ai does, and never the
  baseline's, which costs nothing to recompute;
* its policy hooks, with the defaults an HTTP API wants: ``max_concurrency`` (a cap on requests
  in flight whatever ``limits.concurrency`` says), ``adaptive`` (429s shrink the requests in
  flight), ``attempt_timeout`` (the per-attempt timeout, or none), ``classify`` (retry or not).

Backends are built from their own config schema alone (``from_config``); nothing of the task
reaches them but the requests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol, cast, runtime_checkable

from evalkit.errors import BackendError, MalformedResponse, RateLimited, ServerError, Timeout
from evalkit.records import Completion, Request, Usage

__all__ = [
    "Backend",
    "BackendIdentity",
    "backend_record",
    "needs_images",
    "RetryDecision",
    "default_classify",
    "sampled",
    "storable",
    "token_count",
    "valid_text",
]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    r"""``text`` with unpaired UTF-16 surrogates replaced by U+FFFD.

    JSON may escape one half of a surrogate pair on its own (``"\ud800"``); Python decodes it to
    a string that no UTF-8 writer (the cache, Parquet) accepts. A UTF-8 decoder would turn the
    same broken bytes into U+FFFD, and so does this.

    >>> valid_text("ok" + chr(0xD800)) == "ok" + chr(0xFFFD), valid_text("pair 😀")
    (True, 'pair 😀')
    """
    return _LONE_SURROGATE.sub("\ufffd", text)


def token_count(value: object) -> int | None:
    """A usage count as a server may send it, or ``None``.

    ``12``, ``12.0`` and ``"12"`` are 12; anything else (negative, fractional, not a number) is
    unknown.

    >>> [token_count(v) for v in (12, 12.0, "12", -1, 1.5, "n/a", None, True)]
    [12, 12, 12, None, None, None, None, None]
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


def storable(completion: Completion) -> Completion:
    """A server's answer made fit for the cache and the result tables.

    Text without unpaired surrogates, token counts as integers or ``None``, the finish reason as
    a string or ``None``: whatever the server sent, the row can be written.
    """
    usage = completion.usage
    finish = completion.finish_reason
    return replace(
        completion,
        text=valid_text(completion.text if isinstance(completion.text, str) else ""),
        usage=Usage(
            token_count(usage.input_tokens),
            token_count(usage.output_tokens),
            token_count(usage.image_tokens),
        ),
        finish_reason=None if finish is None else valid_text(str(finish)),
    )


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


def default_classify(error: Exception) -> RetryDecision:
    """Rate limits shrink concurrency, other transient failures retry, the rest fail now."""
    if isinstance(error, RateLimited):
        return RetryDecision.rate_limit
    if isinstance(error, ServerError | Timeout | MalformedResponse):
        return RetryDecision.retry
    return RetryDecision.fail


def sampled(request: Request) -> bool:
    """Whether the request asks for a sampled answer (temperature above 0).

    ``None`` is the server's default temperature, which evalkit cannot see; such answers are
    cached as before (evalkit's own default is 0).

    >>> from evalkit.records import GenerationParams
    >>> sampled(Request("q", (), GenerationParams(temperature=0.7))), sampled(Request("q", ()))
    (True, False)
    """
    return request.params.temperature is not None and request.params.temperature > 0


@runtime_checkable
class Backend(Protocol):
    """Anything that turns a :class:`Request` into a :class:`Completion`.

    Subclass it to inherit the policy defaults below and override what differs.
    """

    identity: BackendIdentity
    priced: bool = True
    """Remote and priced: its answers cost money (price lookup, budget)."""
    max_concurrency: int | None = None
    """A cap on requests in flight (``None``: ``limits.concurrency`` alone decides)."""
    min_concurrency: int | None = None
    """A floor on requests in flight: a batching backend needs enough waiting to fill its
    batches whatever ``limits.concurrency`` says (``None``: no floor)."""
    adaptive: bool = True
    """Whether rate limits (429) halve the requests in flight, as an HTTP API wants."""
    takes_min_tokens: bool = True
    """Whether it honours ``min_tokens`` (a protocol's ``min_new_tokens``); a run whose prompt
    sets it on a backend that cannot says so once."""

    @classmethod
    def from_config(cls, config: Any) -> Backend:
        """Build the backend from its own config schema."""
        ...

    def may_cache(self, request: Request) -> bool:
        """Whether this request's answer may be stored and reused: not when sampled."""
        return not sampled(request)

    def explain(self, error: BackendError) -> str:
        """How to fix a wholesale error (one clause, no secret); default: nothing to add."""
        return ""

    def attempt_timeout(self, configured: float) -> float | None:
        """The per-attempt timeout (``None``: none); default ``limits.timeout_s``."""
        return configured

    def cache_options(self) -> Mapping[str, Any]:
        """Backend options that change answers, beyond the request (part of the cache key)."""
        ...

    async def generate(self, request: Request) -> Completion:
        """Answer one request; raise :class:`~evalkit.errors.BackendError` on failure."""
        ...

    def classify(self, error: Exception) -> RetryDecision:
        """Whether a failed attempt may be retried (default: :func:`default_classify`)."""
        return default_classify(error)

    def asked_elsewhere(self, sample_id: str) -> None:
        """A sample of the run that another shard asks (``shard.count``); default: nothing.

        Optional: a backend that does not define it is not told.
        """

    async def aclose(self) -> None:
        """Release connections and processes."""
        ...


def backend_record(backend: Backend) -> dict[str, Any] | None:
    """What ``run.json`` keeps about ``backend`` at the end (``backend_record``).

    An optional hook, ``record()``, outside the protocol (so that a plugin's backend written
    before it still fits): ``replay`` gives its predictions file and how its ids matched.
    """
    record = getattr(backend, "record", None)
    return cast(dict[str, Any] | None, record()) if callable(record) else None


def needs_images(backend: Backend) -> bool:
    """Whether ``backend`` looks at the images.

    An optional ``needs_images`` attribute, default true: ``replay`` does not, so its dataset
    may leave them out.
    """
    return bool(getattr(backend, "needs_images", True))
