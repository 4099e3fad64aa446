"""Image-token rules on known image sizes, and the documented text approximation."""

from __future__ import annotations

import pytest

from evalkit.cost import image_tokens, text_tokens


@pytest.mark.parametrize(
    ("model", "size", "high_res", "expected"),
    [
        ("qwen-vl-plus", (448, 448), False, 256),  # 16 x 16 patches of 28 px
        ("qwen-vl-max", (1000, 800), False, 36 * 29),  # sides rounded up: 1000 -> 36, 800 -> 29
        ("qwen-vl-plus", (28, 28), False, 4),  # at least 4 tokens
        ("qwen-vl-plus", (56, 56), False, 4),
        ("qwen-vl-plus", (84, 56), False, 6),
        ("qwen-vl-plus", (4032, 3024), False, 1280),  # at most 1280 tokens
        ("qwen-vl-plus", (4032, 3024), True, 144 * 108),  # vl_high_resolution_images lifts the cap
        ("qwen2.5-vl-7b-instruct", (640, 480), False, 23 * 18),
        ("qwen2-vl-72b-instruct", (29, 29), False, 4),
        ("qwen-vl-v1", (1000, 1000), False, 256),  # the original Qwen-VL: fixed 448 x 448 -> 256
        ("qwen-vl-chat-v1", (100, 50), False, 256),
    ],
)
def test_image_tokens(model: str, size: tuple[int, int], high_res: bool, expected: int) -> None:
    assert image_tokens(model, *size, high_resolution=high_res) == expected


def test_text_tokens_approximation() -> None:
    assert text_tokens("") == 0
    assert text_tokens("abcd") == 1 and text_tokens("abcde") == 2
    assert text_tokens("合计") == 2
    assert text_tokens("合计: 12") == 2 + 1


def test_the_budget_and_the_tpm_limiter_share_one_estimate() -> None:
    from evalkit.backends import build_backend
    from evalkit.config import CacheMode, DashScopeConfig, LimitsConfig, OpenAIConfig
    from evalkit.records import GenerationParams, ImagePart, ImageRef, Message, Request, TextPart
    from evalkit.run.call import CallPath

    config = OpenAIConfig(
        name="openai", model="qwen-vl-plus", base_url="http://127.0.0.1:1/v1", api_key_env=None
    )
    calls = CallPath(build_backend(config), None, CacheMode.off, price=None,
                     limits=LimitsConfig(tpm=100_000))  # fmt: skip
    image = ImageRef(b"", 448, 448, "JPEG")
    request = Request(
        "r",
        (Message("user", (ImagePart(image), TextPart("What is it?"))),),
        GenerationParams(max_tokens=16),
    )
    usage = calls.estimate(request)
    assert (usage.input_tokens, usage.output_tokens) == (256 + text_tokens("What is it?"), 16)
    # DashScope's high-resolution option lifts the image cap: the one estimate follows it
    big = ImageRef(b"", 2800, 2800, "JPEG")
    request = Request("r", (Message("user", (ImagePart(big),)),), GenerationParams(max_tokens=1))
    on = {"vl_high_resolution_images": True}
    config = DashScopeConfig(name="dashscope", model="qwen-vl-plus", extra_body=on)
    calls = CallPath(build_backend(config), None, CacheMode.off, price=None,
                     limits=LimitsConfig(tpm=100_000), high_resolution=True)  # fmt: skip
    assert calls.estimate(request).image_tokens == 10_000


def test_the_price_table_is_read_only_for_a_model_it_prices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run of a model with no price converts nothing (converting loads OmegaConf, 0.1 s
    inside the run); a priced model's run validates the whole table."""
    from evalkit import cost
    from evalkit.backends.openai import OpenAIBackend
    from evalkit.compose import compose
    from evalkit.config import Price
    from evalkit.errors import ConfigError
    from evalkit.run import session

    def backend_for(model: str, *extra: str) -> tuple[object, object]:
        cfg = compose(["backend=openai", f"backend.model={model}",
                       "backend.base_url=http://127.0.0.1:1/v1", *extra])  # fmt: skip
        return cfg, OpenAIBackend(cfg.backend)  # type: ignore[arg-type]

    calls: list[object] = []
    real = cost.parse_prices  # the one table lookup, cost.table_price, converts through it
    monkeypatch.setattr(cost, "parse_prices", lambda t: calls.append(t) or real(t))
    cfg, backend = backend_for("unpriced")
    assert session.backend_price(cfg, backend) is None and calls == []  # type: ignore[arg-type]
    cfg, backend = backend_for("m", "+pricing.models.m={input: 1, output: 2}")
    assert session.backend_price(cfg, backend) == Price(input=1.0, output=2.0)  # type: ignore[arg-type]
    cfg, backend = backend_for("m", "+pricing.models.m={input: 1, output: 2}",
                               "+pricing.models.x={input: -1, output: 2}")  # fmt: skip
    with pytest.raises(ConfigError, match="pricing.models.x.input must be >= 0"):
        session.backend_price(cfg, backend)  # type: ignore[arg-type]
