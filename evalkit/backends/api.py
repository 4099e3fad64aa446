"""What the HTTP API backends share: the key, the connection pool, images as data URLs."""

from __future__ import annotations

import base64
import ipaddress
import os
from typing import Any, Self
from urllib.parse import urlparse

from evalkit.backends.base import Backend, BackendIdentity, valid_text
from evalkit.backends.http import HttpClient, ReplicaClient, without_userinfo
from evalkit.config import ApiConfig
from evalkit.errors import AuthError, BackendError, ConfigError, NotFound
from evalkit.records import GenerationParams, ImageRef
from evalkit.redact import redact_text

__all__ = ["ApiBackend", "data_url", "generation_fields"]


def data_url(image: ImageRef) -> str:
    """The URL the server gets for an image.

    The original bytes as a base64 data URL (never decoded or re-encoded), or the dataset's own
    http(s) URL as it is.
    """
    if image.url is not None:
        return image.url
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode('ascii')}"


def generation_fields(params: GenerationParams, *, min_tokens: bool = False) -> dict[str, Any]:
    """The decoding parameters that are set, under the names both protocols use.

    ``min_tokens`` adds ``min_tokens`` (vLLM's and SGLang's name; DashScope has no such
    parameter, so its body never carries it).

    >>> generation_fields(GenerationParams(max_tokens=8, seed=7, stop=("END",)))
    {'max_tokens': 8, 'seed': 7, 'stop': ['END']}
    """
    fields = {
        "max_tokens": params.max_tokens,
        "min_tokens": params.min_tokens if min_tokens else None,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "top_k": params.top_k,
        "seed": params.seed,
        "stop": list(params.stop) or None,
        "repetition_penalty": params.repetition_penalty,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


NO_URL = (
    "backend.base_url is required: add backend.base_url=VALUE to the command "
    "(or backend.serve='COMMAND --port {port}', which starts the server)"
)
"""The one line for an API backend with no server to talk to."""


class ApiBackend(Backend):
    """Base of the HTTP backends: resolves the key from ``api_key_env`` and owns the client.

    Remote and priced, cacheable unless sampled, adaptive to 429s: the contract's defaults.

    A missing key is a one-line :class:`~evalkit.errors.ConfigError` before any request, except
    for a server on this machine (vLLM, SGLang, Ollama on localhost usually need none). The key
    lives only in the ``Authorization`` header and is scrubbed from every error message.
    """

    default_base_url: str = ""
    auth_header: str = "Authorization"
    path: str = ""
    """The request path under ``base_url``."""
    url_hint: str = ""
    """What a right ``base_url`` looks like, for the message of a wholesale failure."""

    @classmethod
    def from_config(cls, config: ApiConfig) -> Self:
        """The backend of ``config`` (its own schema: an :class:`ApiConfig` subclass)."""
        return cls(config)

    def __init__(self, config: ApiConfig) -> None:
        urls = list(config.base_urls) or [config.base_url or self.default_base_url]
        if not all(urls):
            raise ConfigError(NO_URL)
        self.config = config
        # a started server's port changes every run: its command is what identifies it
        # ... and neither a URL's user:password@ nor a key in the command is part of it;
        # replicas of one server are one server, whichever answered
        where = redact_text(f"serve:{config.serve}" if config.serve else ",".join(sorted(urls)))
        self.identity = BackendIdentity(config.name, config.model, where, config.revision)
        self._key = os.environ.get(config.api_key_env or "", "") if config.api_key_env else ""
        if not self._key and config.api_key_env and not all(map(_is_local, urls)):
            raise ConfigError(
                f"backend '{config.name}' needs an API key: set the environment variable "
                f"{config.api_key_env} (or name another with backend.api_key_env=VAR)"
            )
        userinfo = any("@" in urlparse(u).netloc for u in urls)
        if self._key and userinfo and self.auth_header == "Authorization":
            raise ConfigError(
                f"backend '{config.name}': backend.base_url carries a user:password@ and "
                f"${config.api_key_env} holds a key; the server takes one of them: drop the "
                "user:password@, or set backend.api_key_env=null"
            )
        headers = {self.auth_header: f"Bearer {self._key}"} if self._key else {}
        clients = [HttpClient(base_url=u, headers=headers, max_connections=256) for u in urls]
        self.client: HttpClient | ReplicaClient = (
            clients[0] if len(clients) == 1 else ReplicaClient(clients)
        )
        pixels = {"min_pixels": config.min_pixels, "max_pixels": config.max_pixels}
        self.image_extra = {k: v for k, v in pixels.items() if v is not None}
        """Per-image fields sent with every image (``min_pixels`` / ``max_pixels``)."""

    def cache_options(self) -> dict[str, Any]:
        """Per-image pixel bounds and ``extra_body`` change answers: they are in the cache key."""
        return {"image": dict(self.image_extra), "extra_body": dict(self.config.extra_body)}

    def scrub(self, text: str) -> str:
        """``text`` with the API key masked (and storable), for anything shown or stored."""
        text = valid_text(text)
        return text.replace(self._key, "***") if self._key else text

    @property
    def endpoint(self) -> str:
        """The URL requests go to (without any ``user:password@``)."""
        return without_userinfo(f"{self.client.base_url}/{self.path}")

    def explain(self, error: BackendError) -> str:
        """Where the wholesale failure happened and what to check.

        Names the endpoint, the key's variable and the model, never the key.
        """
        where = f"endpoint {self.endpoint}"
        if isinstance(error, AuthError):
            if self.config.api_key_env:
                return f"{where}: check the key in ${self.config.api_key_env} and its access"
            return (
                f"{where}: the server wants a key; name its variable with backend.api_key_env=VAR"
            )
        hint = f" ({self.url_hint})" if self.url_hint else ""
        if isinstance(error, NotFound):
            return (f"{where}: check backend.base_url{hint} and backend.model "
                    f"('{self.config.model}')")  # fmt: skip
        return f"{where}: is the server running? check backend.base_url{hint}"

    def scrubbed(self, error: BackendError) -> BackendError:
        """The same error with the key masked in its message."""
        return type(error)(
            self.scrub(str(error)), status=error.status, retry_after=error.retry_after
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.client.close()
