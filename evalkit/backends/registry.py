"""Backend name → ``module:attr`` of its class, imported only when chosen.

A backend's config lives in ``configs/backend/<name>.yaml``; its ``name`` field selects the row
here. Heavy optional dependencies are imported inside the backend's own module.
"""

from __future__ import annotations

import importlib
from typing import cast

from evalkit.backends.base import Backend
from evalkit.config import (
    BackendConfig,
    BaselineConfig,
    DashScopeConfig,
    HFConfig,
    OpenAIConfig,
)
from evalkit.errors import ConfigError, UnknownBackend, did_you_mean

__all__ = ["BACKENDS", "SCHEMAS", "build_backend"]

BACKENDS: dict[str, str] = {
    "baseline": "evalkit.backends.baseline:BaselineBackend",
    "openai": "evalkit.backends.openai:OpenAIBackend",
    "dashscope": "evalkit.backends.dashscope:DashScopeBackend",
    "hf": "evalkit.backends.hf:HFBackend",
}


SCHEMAS: dict[str, type[BackendConfig]] = {
    "baseline": BaselineConfig,
    "openai": OpenAIConfig,
    "dashscope": DashScopeConfig,
    "hf": HFConfig,
}
"""Backend name → its config schema (stored as ``<name>_schema`` in the ``backend`` group)."""


def build_backend(config: BackendConfig) -> Backend:
    """Instantiate the backend named by ``config.name`` from its own config."""
    target = BACKENDS.get(config.name)
    if target is None:
        raise UnknownBackend(did_you_mean("backend", config.name, BACKENDS))
    schema = SCHEMAS[config.name]
    if not isinstance(config, schema):
        raise ConfigError(
            f"backend '{config.name}' needs a {schema.__name__}, got {type(config).__name__}"
        )
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cast(Backend, cls.from_config(config))
