"""``estimate=true``: what a run would send and cost, before spending anything.

Reads the samples, renders each request, looks it up in the response cache, and adds up the
estimated tokens of what is not cached (``evalkit.report.cost``: image tokens by the model
family's rule, text approximated, ``max_tokens`` as the output bound). Calls no backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evalkit.backends import build_backend
from evalkit.backends.retry import Caller
from evalkit.cache import ResponseCache, cache_path
from evalkit.cache.cached import CachedCaller
from evalkit.config import CacheMode, RunConfig
from evalkit.dataset import describe_source, iter_items
from evalkit.prompt import plan_rendering, render
from evalkit.records import Usage
from evalkit.report.cost import (
    estimate_request,
    high_resolution,
    parse_prices,
    price_for,
    usage_cost,
)
from evalkit.tasks import prompt_families

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
    info = describe_source(task, cfg.dataset)
    plan = plan_rendering(task, cfg.backend, prompt_families())
    backend = build_backend(cfg.backend, task, plan.box_format)
    price = price_for(backend.identity.model, parse_prices(cfg.pricing.models))
    high_res = high_resolution(cfg.backend)
    cache = None
    if backend.cacheable and cfg.cache.mode is CacheMode.use:
        path = cache_path(cfg.cache.path)
        cache = ResponseCache(path) if path.exists() else None
    lookup = CachedCaller(Caller(backend, cfg.limits), cache, cfg.cache.mode)
    result = Estimate(currency=price.currency if price else None)
    cost = 0.0
    try:
        for item in iter_items(task, cfg.dataset, info):
            result.samples += 1
            if item.sample is None:
                result.unusable += 1
                continue
            request = render(item.sample, plan)
            if lookup.cached(request) is not None:
                result.cached += 1
                continue
            result.to_send += 1
            usage = estimate_request(request, backend.identity.model, high_resolution=high_res)
            result.usage = result.usage + usage
            cost += usage_cost(usage, price) or 0.0
    finally:
        if cache is not None:
            cache.close()
        await backend.aclose()
    if not backend.cacheable:
        result.cost = 0.0
    elif price is not None:
        result.cost = cost
    return result


def format_estimate(cfg: RunConfig, est: Estimate) -> str:
    """The lines printed for ``estimate=true``."""
    unknown = "unknown (no price for this model)"
    cost = unknown if est.cost is None else f"{est.cost:.4f} {est.currency or ''}".strip()
    usage = est.usage
    return "\n".join(
        [
            f"estimate for task={cfg.task.name} backend={cfg.backend.name} "
            f"model={cfg.backend.model}",
            f"samples: {est.samples}  cached: {est.cached}  to send: {est.to_send}  "
            f"unusable: {est.unusable}",
            f"input tokens: ~{usage.input_tokens or 0} (images: {usage.image_tokens or 0})  "
            f"output tokens: <= {usage.output_tokens or 0}",
            f"cost: <= {cost}",
            "no request was sent",
        ]
    )
