"""The judge's backend: one of the model backends (or the stand-in), built from ``judge``.

``configs/judge/<name>.yaml`` extends the schema here; the backend is the model backend of the
same name, so ``judge=openai`` takes every ``backend=openai`` option.
"""

from __future__ import annotations

from evalkit.backends.base import Backend
from evalkit.config import (
    DashScopeJudgeConfig,
    HFJudgeConfig,
    JudgeSettings,
    OpenAIJudgeConfig,
    StandInJudgeConfig,
)
from evalkit.errors import ConfigError

__all__ = ["build_judge_backend"]


def build_judge_backend(config: JudgeSettings) -> Backend:
    """The backend that judges, from ``config`` (``judge=none`` has none: an error)."""
    if isinstance(config, StandInJudgeConfig):
        from evalkit.judge.stand_in import StandInJudge

        return StandInJudge.from_config(config)
    if isinstance(config, OpenAIJudgeConfig | DashScopeJudgeConfig | HFJudgeConfig):
        from evalkit.backends.registry import build_backend

        return build_backend(config)
    raise ConfigError(f"judge '{config.name}' has no model to ask")
