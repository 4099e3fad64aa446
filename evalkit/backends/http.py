"""The shared async HTTP layer of the API backends, and the one status → exception mapping.

aiohttp was chosen by measurement (``docs/design/http-client.md``): on this project's 2-core
machine it spent about 0.5 ms of client CPU per 40 kB JSON request at 64 in flight, httpx about
9 ms. Request bodies are encoded with orjson: 1 µs for a body with a 17 kB data URL where the
standard library takes 46 µs, and with 64 answers arriving together that encoding sits between
each answer and the next request.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import orjson

from evalkit.errors import (
    AuthError,
    BackendError,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    Unreachable,
)

__all__ = [
    "HttpClient",
    "ReplicaClient",
    "HttpResponse",
    "SseEvent",
    "error_for_status",
    "one_line",
    "retry_after_seconds",
    "without_userinfo",
]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A finished response: status, headers and the whole body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def text_line(self) -> str:
        """The body as one short line of text (an error's message when it is not JSON)."""
        return one_line(self.body[:4096].decode("utf-8", "replace"))

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is a :class:`MalformedResponse`."""
        try:
            return json.loads(self.body.decode("utf-8-sig"))  # some gateways prepend a BOM
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            snippet = self.body[:80].decode("utf-8", "replace")
            raise MalformedResponse(
                f"HTTP {self.status}: body is not JSON ({exc.__class__.__name__}): {snippet!r}",
                status=self.status,
            ) from exc


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One server-sent event: its ``event`` name, joined ``data`` lines and ``:`` comments."""

    event: str
    data: str
    comments: tuple[str, ...] = ()


async def _sse_events(lines: AsyncIterable[bytes]) -> AsyncIterator[SseEvent]:
    event, data, comments = "message", list[str](), list[str]()
    first = True
    async for raw in lines:
        line = raw.decode("utf-8")
        if first:
            line, first = line.lstrip("\ufeff"), False  # DashScope prepends a BOM
        line = line.rstrip("\r\n")
        if not line:
            if data or comments:
                yield SseEvent(event, "\n".join(data), tuple(comments))
            event, data, comments = "message", [], []
            continue
        if line.startswith(":"):
            comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
    if data or comments:
        yield SseEvent(event, "\n".join(data), tuple(comments))


class HttpClient:
    """One connection pool per backend; created inside the running event loop on first use."""

    def __init__(self, *, base_url: str, headers: Mapping[str, str], max_connections: int) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _ensure(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, raise_for_status=False
            )
        return self._session

    async def post_json(self, path: str, body: Any) -> HttpResponse:
        """POST ``body`` as JSON; transport failures become :class:`BackendError` subclasses.

        The per-attempt timeout is the caller's (:class:`~evalkit.backends.retry.Caller`).
        """
        session = self._ensure()
        url = f"{self.base_url}/{path.lstrip('/')}"
        data = orjson.dumps(body)
        try:
            async with session.post(
                url, data=data, headers={"Content-Type": "application/json"}
            ) as resp:
                payload = await resp.read()
                return HttpResponse(resp.status, dict(resp.headers), payload)
        except aiohttp.ClientPayloadError as exc:
            raise MalformedResponse(f"response body cut short from {url}: {exc}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise _unreachable(url, exc) from exc
        except aiohttp.ClientError as exc:
            raise ServerError(f"connection to {url} failed: {exc.__class__.__name__}") from exc

    async def stream_sse(
        self, path: str, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[HttpResponse | SseEvent]:
        """POST ``body`` and yield the events of an SSE answer as they arrive.

        A non-200 answer is yielded once as a whole :class:`HttpResponse` and ends the stream.
        A stream cut short is a :class:`MalformedResponse`.
        """
        session = self._ensure()
        url = f"{self.base_url}/{path.lstrip('/')}"
        data = orjson.dumps(body)
        sent = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            **(headers or {}),
        }
        try:
            async with session.post(url, data=data, headers=sent) as resp:
                if resp.status != 200:
                    yield HttpResponse(resp.status, dict(resp.headers), await resp.read())
                    return
                async for event in _sse_events(resp.content):
                    yield event
        except aiohttp.ClientPayloadError as exc:
            raise MalformedResponse(f"event stream cut short from {url}: {exc}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise _unreachable(url, exc) from exc
        except aiohttp.ClientError as exc:
            raise ServerError(f"connection to {url} failed: {exc.__class__.__name__}") from exc
        except UnicodeDecodeError as exc:
            raise MalformedResponse(f"event stream from {url} is not UTF-8") from exc

    async def close(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _unreachable(url: str, exc: aiohttp.ClientConnectorError) -> Unreachable:
    """``cannot connect to URL (what the OS or TLS said)``; the URL without any user:password."""
    if isinstance(exc, aiohttp.ClientSSLError):
        reason = getattr(exc.os_error, "reason", None) or getattr(exc.os_error, "strerror", None)
        why = f"TLS failed: {reason or exc.__class__.__name__}"
    elif exc.__class__.__name__ == "ClientConnectorDNSError":
        why = "unknown host"
    else:
        why = exc.os_error.strerror or exc.__class__.__name__
    return Unreachable(f"cannot connect to {without_userinfo(url)} ({why})")


class ReplicaClient:
    """Several :class:`HttpClient` s to replicas of one server, used as one.

    Each request goes to the replica with the fewest requests in flight (the first of them on a
    tie), so a slow or busy replica is asked less and none sits idle.
    """

    def __init__(self, clients: list[HttpClient]) -> None:
        self.clients = clients
        self._in_flight = [0] * len(clients)

    @property
    def base_url(self) -> str:
        """The replicas' URLs, for messages."""
        return ",".join(c.base_url for c in self.clients)

    def _pick(self) -> int:
        return min(range(len(self.clients)), key=self._in_flight.__getitem__)

    async def post_json(self, path: str, body: Any) -> HttpResponse:
        """:meth:`HttpClient.post_json` on the least busy replica."""
        k = self._pick()
        self._in_flight[k] += 1
        try:
            return await self.clients[k].post_json(path, body)
        finally:
            self._in_flight[k] -= 1

    async def stream_sse(
        self, path: str, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[HttpResponse | SseEvent]:
        """:meth:`HttpClient.stream_sse` on the least busy replica."""
        k = self._pick()
        self._in_flight[k] += 1
        try:
            async for item in self.clients[k].stream_sse(path, body, headers=headers):
                yield item
        finally:
            self._in_flight[k] -= 1

    async def close(self) -> None:
        """Close every replica's pool."""
        for client in self.clients:
            await client.close()


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` removed (for messages).

    >>> without_userinfo("https://me:pw@host.example/v1")
    'https://host.example/v1'
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a server asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or a date.

    >>> retry_after_seconds({"Retry-After": "2"})
    2.0
    >>> retry_after_seconds({"retry-after-ms": "250"})
    0.25
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


_THROTTLING = ("Throttling",)
_AUTH_CODES = ("InvalidApiKey", "AccessDenied")


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def one_line(message: str, limit: int = 200) -> str:
    r"""An error body as one short line: an HTML page's title (or its text), spaces collapsed.

    >>> one_line("<html><head><title>404 Not Found</title></head><body><h1>nginx</h1></html>")
    '404 Not Found'
    >>> one_line("upstream\nconnect error")
    'upstream connect error'
    """
    if "<" in message and ">" in message:
        title = _TITLE.search(message)
        message = title.group(1) if title else _TAG.sub(" ", message)
    return " ".join(message.split())[:limit]


def error_for_status(
    status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] = {}
) -> BackendError:
    """The exception for a non-2xx answer: the only status → exception mapping in evalkit.

    Transient: 408, 409, 429 and 5xx (and DashScope ``Throttling*`` codes whatever the status).
    Permanent: 401/403 (:class:`AuthError`), 404/405 (:class:`NotFound`: a wrong path or model,
    wholesale like a bad key) and every other 4xx (:class:`InvalidRequest`).
    """
    label = f"HTTP {status}" + (f" {code}" if code else "")
    message = one_line(message)
    text = f"{label}: {message}" if message else label
    wait = retry_after_seconds(headers)
    if status == 429 or (code is not None and code.startswith(_THROTTLING)):
        return RateLimited(text, status=status, retry_after=wait)
    if status in (401, 403) or (code is not None and code.startswith(_AUTH_CODES)):
        return AuthError(text, status=status)
    if status == 408:
        return Timeout(text, status=status, retry_after=wait)
    if status == 409 or status >= 500:
        return ServerError(text, status=status, retry_after=wait)
    if status in (404, 405):
        return NotFound(text, status=status)
    return InvalidRequest(text, status=status)
