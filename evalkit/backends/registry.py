"""Backends by name: where each one's class lives (imported only when chosen) and its schema.

A backend's config lives in ``configs/backend/<name>.yaml`` (a plugin's backend without one is
offered as its schema's defaults); its ``name`` field selects the entry here. Heavy optional
dependencies are imported inside the backend's own module. Other packages add backends
through :mod:`evalkit.registry`'s entry points.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import cast

from evalkit.backends.base import Backend
from evalkit.config import (
    BackendConfig,
    BaselineConfig,
    DashScopeConfig,
    HFConfig,
    OpenAIConfig,
    ReplayConfig,
)
from evalkit.errors import ConfigError, UnknownBackend
from evalkit.registry import Registry

__all__ = ["BACKENDS", "BackendEntry", "build_backend"]


@dataclass(frozen=True)
class BackendEntry:
    """One backend: its class as ``module:attr`` and its config schema."""

    target: str
    schema: type[BackendConfig]
    """Stored as ``<name>_schema`` in Hydra's ``backend`` group."""


BACKENDS: Registry[BackendEntry] = Registry(
    "backend",
    {
        "baseline": BackendEntry("evalkit.backends.baseline:BaselineBackend", BaselineConfig),
        "openai": BackendEntry("evalkit.backends.openai:OpenAIBackend", OpenAIConfig),
        "dashscope": BackendEntry("evalkit.backends.dashscope:DashScopeBackend", DashScopeConfig),
        "hf": BackendEntry("evalkit.backends.hf:HFBackend", HFConfig),
        "replay": BackendEntry("evalkit.backends.replay:ReplayBackend", ReplayConfig),
    },
    error=UnknownBackend,
)


def build_backend(config: BackendConfig) -> Backend:
    """Instantiate the backend named by ``config.name`` from its own config."""
    entry = BACKENDS[config.name]
    if not isinstance(config, entry.schema):
        raise ConfigError(
            f"backend '{config.name}' needs a {entry.schema.__name__}, got {type(config).__name__}"
        )
    module_name, _, attr = entry.target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cast(Backend, cls.from_config(config))
