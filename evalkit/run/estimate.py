"""``evalkit estimate`` (or ``estimate=true``): what a run would send and cost, before spending.

Reads the samples, renders each request, looks it up in the response cache, and adds up the
estimated tokens of what is not cached (``evalkit.cost``: image tokens by the model
family's rule, text approximated, ``max_tokens`` as the output bound). Calls no backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalkit.compose.tasks import prompt_families
from evalkit.config import RunConfig
from evalkit.dataset import describe_sources, iter_run_items, plan_shard
from evalkit.errors import DataError
from evalkit.prompt import plan_rendering, render
from evalkit.records import Usage
from evalkit.run.session import open_session

__all__ = ["Estimate", "estimate", "format_estimate"]


@dataclass
class Estimate:
    """Expected work of a run."""

    samples: int = 0
    unusable: int = 0
    cached: int = 0
    to_send: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    currency: str | None = None


async def estimate(cfg: RunConfig) -> Estimate:
    """Estimate tokens and cost of ``cfg``'s run; nothing is sent."""
    task = cfg.task
    infos = describe_sources(task, cfg.dataset)
    plan = plan_rendering(task, cfg.backend, prompt_families)
    async with open_session(cfg, send=False) as session:
        price = session.price
        result = Estimate(currency=price.currency if price else None)
        cost = 0.0
        shard = plan_shard(cfg.shard.count, cfg.shard.index, task, cfg.dataset, infos)
        for item in iter_run_items(task, cfg.dataset, infos, shard=shard):
            if item.elsewhere:  # another shard's sample
                continue
            result.samples += 1
            if item.sample is None:
                result.unusable += 1
                continue
            try:
                request = render(item.sample, plan)
            except DataError:
                result.unusable += 1
                continue
            if session.calls.cached(request) is not None:
                result.cached += 1
                continue
            result.to_send += 1
            usage = session.calls.estimate(request)
            result.usage = result.usage + usage
            cost += session.calls.cost(usage) or 0.0
        if not session.backend.priced:
            result.cost = 0.0
        elif price is not None:
            result.cost = cost
    return result


def format_estimate(cfg: RunConfig, est: Estimate) -> str:
    """The lines printed for ``estimate=true``."""
    from evalkit.judge.judge import judge_mode

    unknown = "unknown (no price for this model)"
    cost = unknown if est.cost is None else f"{est.cost:.4f} {est.currency or ''}".strip()
    usage = est.usage
    mode = judge_mode(cfg)
    judge = []
    if mode.value != "off":
        answers = est.samples - est.unusable
        model = getattr(cfg.judge, "model", "")
        judge = [f"judge: {cfg.judge.name}/{model} ({mode.value}) is not estimated: its prompts "
                 f"hold the answers, unknown before the run; it is asked about up to {answers} "
                 f"answers x {cfg.judge.repeats} repeats, at its own price"]  # fmt: skip
    return "\n".join(
        [
            f"estimate for task={cfg.task.name} backend={cfg.backend.name} "
            f"model={cfg.backend.model}",
            f"samples: {est.samples}  cached: {est.cached}  to send: {est.to_send}  "
            f"unusable: {est.unusable}",
            f"input tokens: ~{usage.input_tokens or 0} (images: {usage.image_tokens or 0})  "
            f"output tokens: <= {usage.output_tokens or 0}",
            f"cost: <= {cost}",
            *judge,
            "no request was sent",
        ]
    )
