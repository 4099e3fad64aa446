"""Opening what a run needs (server, backend, price, cache, call path), closing it in one place."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from evalkit.backends import Backend, build_backend
from evalkit.backends.serve import serving
from evalkit.cache import ResponseCache, cache_path
from evalkit.config import ApiConfig, BackendConfig, CacheMode, Price, RunConfig
from evalkit.cost import high_resolution, table_price
from evalkit.errors import ConfigError
from evalkit.run.call import CallPath

__all__ = ["RunSession", "backend_price", "open_session"]

log = logging.getLogger(__name__)


@dataclass
class RunSession:
    """What a run holds open while it asks."""

    backend: Backend
    price: Price | None
    """The model's price; ``None`` when unpriced (free backends have none either)."""
    calls: CallPath
    """Cache, budget, rate limiters and retries: every request goes through it."""
    sends: bool
    """Whether the session may send (an estimate's does not)."""
    cache_path: str | None
    """The SQLite file in use, if any."""

    @property
    def priced(self) -> bool:
        """Whether costs are known: a free backend, or a priced one with a price."""
        return self.price is not None or not self.backend.priced


def backend_price(cfg: RunConfig, backend: Backend) -> Price | None:
    """The model's price; its absence is a warning, or an error when a budget needs it."""
    if not backend.priced:
        return None
    model = backend.identity.model
    price = table_price(model, cfg.pricing.models)
    if price is None:
        if cfg.limits.max_cost is not None:
            raise ConfigError(
                f"limits.max_cost needs a price for model '{model}': add it to "
                f"configs/pricing.yaml or with '+pricing.models.{model}={{...}}'"
            )
        log.warning("no price for model '%s' in configs/pricing.yaml: cost is not tallied", model)
    return price


@asynccontextmanager
async def open_session(
    cfg: RunConfig, *, send: bool = True, log_dir: Path | None = None,
    backend: Backend | None = None,
) -> AsyncIterator[RunSession]:  # fmt: skip
    """Open the backend, its price, the cache and the caller; close all of them on exit.

    ``send=False`` (an estimate) opens the cache only if its file exists, builds no caller,
    reads no key and starts no server. With ``backend.serve`` the server is started first (its
    log in ``log_dir/server.log``) and stopped last, on errors and interrupts too. A ``backend``
    given is used as it is (its server, if any, is its holder's) and left open: a Ray worker
    keeps one backend for all its shards.
    """
    if backend is not None:
        async with _session(cfg, cfg.backend, send=send, backend=backend) as session:
            yield session
        return
    backend_config = cfg.backend
    if not isinstance(backend_config, ApiConfig):
        async with _session(cfg, backend_config, send=send) as session:
            yield session
        return
    if not send:  # an estimate sends nothing: no key read, no server started
        backend_config = replace(backend_config, api_key_env=None)
        if backend_config.serve:
            backend_config = replace(backend_config, base_url="http://127.0.0.1:0/v1")
        async with _session(cfg, backend_config, send=send) as session:
            yield session
        return
    async with (
        serving(backend_config, log_dir, "server.log") as started,
        _session(cfg, started, send=send) as session,
    ):
        yield session


@asynccontextmanager
async def _session(
    cfg: RunConfig, backend_config: BackendConfig, *, send: bool, backend: Backend | None = None
) -> AsyncIterator[RunSession]:
    held = backend is not None
    backend = backend if backend is not None else build_backend(backend_config)
    cache: ResponseCache | None = None
    try:
        price = backend_price(cfg, backend)
        mode = cfg.cache.mode
        path = cache_path(cfg.cache.path)
        if mode is not CacheMode.off and (send or (mode is CacheMode.use and path.exists())):
            also = cfg.cache.read_also
            cache = ResponseCache(path, read_also=Path(also).expanduser() if also else None)
        calls = CallPath(backend, cache, mode, price=price, limits=cfg.limits if send else None,
                         high_resolution=high_resolution(cfg.backend))  # fmt: skip
        shown = str(cache.path) if cache is not None else None
        yield RunSession(backend, price, calls, send, shown)
    finally:
        if not held:
            await backend.aclose()
        if cache is not None:
            cache.close()
