"""Token usage → cost, and the documented token estimates used before spending.

A foundation module like ``records``: the budget (before a request is sent), the rate limiter,
the estimate and the report all use it.

Prices come from ``configs/pricing.yaml`` (per 1,000 tokens). A model is matched by its exact
name, else by the longest priced name it starts with (``qwen-vl-plus-2025-01-25`` →
``qwen-vl-plus``). No price: the cost is ``None`` (one warning per run), never a crash.

Image tokens follow each model family's published rule (:mod:`evalkit.families`, found by the
model's name):

* qwen-vl-plus / qwen-vl-max and Qwen2-VL / Qwen2.5-VL: one token per 28×28 pixels, each side
  rounded up to a multiple of 28, clamped to [4, 1280] tokens per image (``high_resolution``,
  DashScope's ``vl_high_resolution_images``, lifts the cap to 16,384);
* qwen-vl-v1 / qwen-vl-chat-v1 (the original Qwen-VL): a fixed 256 tokens (448×448 input).

Text tokens are approximated: one token per CJK character, one per 4 other characters (rounded
up). Real tokenizers differ by model; the estimate is for budgeting, not billing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from evalkit.config import ApiConfig, BackendConfig, Price, check_ranges
from evalkit.families import family_for_model
from evalkit.records import ImagePart, Request, Usage
from evalkit.structured import to_object

__all__ = [
    "estimate_request",
    "high_resolution",
    "image_tokens",
    "parse_prices",
    "price_for",
    "text_tokens",
    "usage_cost",
]


def parse_prices(models: Mapping[str, Any]) -> dict[str, Price]:
    """Validate ``pricing.models`` into :class:`Price` records (one-line error on a bad entry)."""
    prices = {}
    for name, fields in models.items():
        price = to_object(Price, fields, what=f"bad price for '{name}' in pricing.models")
        check_ranges(price, f"pricing.models.{name}")
        prices[name] = price
    return prices


def price_for(model: str, prices: Mapping[str, Price]) -> Price | None:
    """The price of ``model``: exact name first, then the longest priced prefix."""
    if model in prices:
        return prices[model]
    matches = [name for name in prices if model.startswith(name)]
    return prices[max(matches, key=len)] if matches else None


def table_price(model: str, models: Mapping[str, Any]) -> Price | None:
    """The price of ``model`` in ``pricing.models``.

    The table is validated (and OmegaConf loaded to do it) only when it prices the model.

    >>> table_price("m-2024", {"m": {"input": 1.0, "output": 2.0}}).output
    2.0
    """
    if price_for(model, models) is None:
        return None
    return price_for(model, parse_prices(models))


def usage_cost(usage: Usage, price: Price | None) -> float | None:
    """Cost of one answer's usage; ``None`` when the price or the token counts are unknown.

    >>> usage_cost(Usage(1000, 500, 200), Price(input=0.002, output=0.004))
    0.004
    """
    if price is None or usage.input_tokens is None or usage.output_tokens is None:
        return None
    text_in = usage.input_tokens
    cost = usage.output_tokens / 1000 * price.output
    if price.image is not None and usage.image_tokens:
        text_in -= usage.image_tokens
        cost += usage.image_tokens / 1000 * price.image
    return text_in / 1000 * price.input + cost


def image_tokens(
    model: str, width: int | None, height: int | None, *, high_resolution: bool = False
) -> int:
    """Image tokens by the model family's documented rule.

    An image of unknown size (a URL evalkit does not fetch) counts at the cap, so a budget
    errs on the safe side.

    >>> image_tokens("qwen-vl-plus", 448, 448), image_tokens("qwen-vl-max", 4000, 3000)
    (256, 1280)
    >>> image_tokens("qwen-vl-chat-v1", 4000, 3000), image_tokens("qwen-vl-plus", None, None)
    (256, 1280)
    """
    return family_for_model(model).image_tokens(width, height, high_resolution)


def high_resolution(backend: BackendConfig) -> bool:
    """Whether DashScope's ``vl_high_resolution_images`` (an API ``extra_body`` field) is set.

    >>> from evalkit.config import BaselineConfig, DashScopeConfig
    >>> on = {"vl_high_resolution_images": True}
    >>> high_resolution(DashScopeConfig("dashscope", "m", extra_body=on))
    True
    >>> high_resolution(BaselineConfig("baseline", "baseline"))
    False
    """
    if not isinstance(backend, ApiConfig):
        return False
    return bool(backend.extra_body.get("vl_high_resolution_images", False))


def text_tokens(text: str) -> int:
    """Approximate text tokens: CJK characters one each, other characters four to a token.

    >>> text_tokens("What is the total?"), text_tokens("合计金额是多少？")
    (5, 8)
    """
    cjk = sum(1 for c in text if "\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef")
    return cjk + math.ceil((len(text) - cjk) / 4)


def estimate_request(request: Request, model: str, *, high_resolution: bool = False) -> Usage:
    """Expected usage of a request: estimated input and image tokens, ``max_tokens`` out."""
    images = [p.image for m in request.messages for p in m.parts if isinstance(p, ImagePart)]
    image = sum(
        image_tokens(model, i.width, i.height, high_resolution=high_resolution) for i in images
    )
    text = sum(text_tokens(m.text) for m in request.messages)
    return Usage(text + image, request.params.max_tokens or 0, image)
