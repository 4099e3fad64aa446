"""Backend name → ``module:attr`` of its class, imported only when chosen.

A backend's config lives in ``configs/backend/<name>.yaml``; its ``name`` field selects the row
here. Heavy optional dependencies are imported inside the backend's own module.
"""

from __future__ import annotations

import importlib
from typing import cast

from evalkit.backends.base import Backend
from evalkit.config import BackendConfig, TaskSpec
from evalkit.errors import UnknownBackend, did_you_mean

__all__ = ["BACKENDS", "build_backend"]

BACKENDS: dict[str, str] = {
    "baseline": "evalkit.backends.baseline:BaselineBackend",
    "openai": "evalkit.backends.openai:OpenAIBackend",
    "dashscope": "evalkit.backends.dashscope:DashScopeBackend",
}


def build_backend(config: BackendConfig, task: TaskSpec, box_format: str) -> Backend:
    """Instantiate the backend named by ``config.name``."""
    target = BACKENDS.get(config.name)
    if target is None:
        raise UnknownBackend(did_you_mean("backend", config.name, BACKENDS))
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    return cast(Backend, cls(config, task, box_format))
