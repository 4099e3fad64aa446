"""``judge=stand_in``: a deterministic judge for offline runs of judged tasks; not a model.

It answers each prompt of the task's protocol as that protocol's ``stand_in`` rule says, in
the judge's own format, so a judged task runs end to end (prompts, reading, cache, rows,
``run.json``) on the bundled sample with no key and no network. Its grades are a fixed rule's,
not a benchmark's: the docs say so wherever it is offered.
"""

from __future__ import annotations

from typing import Any, Self

from evalkit.backends.base import Backend, BackendIdentity, RetryDecision
from evalkit.config import StandInJudgeConfig
from evalkit.judge.base import JudgeProtocol
from evalkit.records import Completion, Request, Usage

__all__ = ["StandInJudge"]


class StandInJudge(Backend):
    """Answers judge prompts by its protocol's fixed rule; free, offline, never cached."""

    priced = False

    def __init__(self, config: StandInJudgeConfig) -> None:
        self.identity = BackendIdentity(name="stand_in", model=config.model)
        self.protocol: JudgeProtocol | None = None
        """Set by the judge that uses it (:meth:`bind`)."""

    @classmethod
    def from_config(cls, config: StandInJudgeConfig) -> Self:
        """The stand-in (its protocol is bound by the judge)."""
        return cls(config)

    def bind(self, protocol: JudgeProtocol) -> None:
        """Answer the prompts of ``protocol``."""
        self.protocol = protocol

    def may_cache(self, request: Request) -> bool:
        """Recomputing a rule costs nothing: never cached."""
        return False

    async def generate(self, request: Request) -> Completion:
        """The protocol's stand-in answer to the request's last user message."""
        assert self.protocol is not None, "the stand-in judge is bound to a protocol first"
        prompt = request.messages[-1].text
        return Completion(self.protocol.stand_in(prompt), Usage(0, 0, 0), "stop")

    def cache_options(self) -> dict[str, Any]:
        """Nothing is cached for the stand-in."""
        return {}

    def classify(self, error: Exception) -> RetryDecision:
        """A rule never fails transiently."""
        return RetryDecision.fail

    async def aclose(self) -> None:
        """Nothing to release."""
