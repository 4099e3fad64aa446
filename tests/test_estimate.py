"""estimate=true: tokens and cost before spending, minus what the cache already holds."""

from __future__ import annotations

from pathlib import Path

from evalkit.testing.fake_server import FakeVLMServer


def _args(server: FakeVLMServer, tmp_path: Path) -> list[str]:
    return ["task=vqav2", "backend=dashscope", f"backend.base_url={server.dashscope_url}",
            "backend.api_key_env=null", f"cache.path={tmp_path / 'c.sqlite'}"]  # fmt: skip


def _numbers(out: str) -> dict[str, str]:
    words = out.replace(":", " ").split()
    return {k: words[i + 1] for i, k in enumerate(words[:-1]) if k in ("samples", "cached", "send")}


def test_estimate_sends_nothing_and_subtracts_the_cache(
    cli, run_eval, server: FakeVLMServer, tmp_path: Path
) -> None:
    proc = cli(*_args(server, tmp_path), "estimate=true")
    assert proc.returncode == 0, proc.stderr
    assert server.received == []
    assert _numbers(proc.stdout) == {"samples": "60", "cached": "0", "send": "60"}
    # 60 questions on 320 x 240 images: 12 x 9 = 108 image tokens each (qwen-vl-plus rule)
    assert "(images: 6480)" in proc.stdout and "output tokens: <= 960" in proc.stdout
    assert "CNY" in proc.stdout and "no request was sent" in proc.stdout
    assert not list((tmp_path / "results").rglob("*.parquet"))

    run_eval(*_args(server, tmp_path), "dataset.limit=25")
    sent = len(server.received)
    proc = cli(*_args(server, tmp_path), "estimate=true")
    assert _numbers(proc.stdout) == {"samples": "60", "cached": "25", "send": "35"}
    assert len(server.received) == sent


def test_estimate_for_an_unpriced_model(cli, server: FakeVLMServer, tmp_path: Path) -> None:
    proc = cli(
        *_args(server, tmp_path), "backend.model=mystery", "estimate=true", "dataset.limit=3"
    )
    assert proc.returncode == 0, proc.stderr
    assert "cost: <= unknown (no price for this model)" in proc.stdout


def test_estimate_needs_no_key_and_a_cached_answer_still_counts(
    cli, run_eval, server: FakeVLMServer, tmp_path: Path, monkeypatch
) -> None:
    """Estimating sends nothing, so the key is not asked for; the run itself still needs it."""
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    args = ["task=vqav2", "backend=dashscope", "backend.base_url=https://api.invalid/api/v1",
            f"cache.path={tmp_path / 'c.sqlite'}", "dataset.limit=4"]  # fmt: skip
    proc = cli("estimate", *args)
    assert proc.returncode == 0, proc.stderr
    assert _numbers(proc.stdout) == {"samples": "4", "cached": "0", "send": "4"}
    run = cli(*args)
    assert run.returncode != 0 and "needs an API key: set the environment variable" in run.stderr
    # a run with the key through the loopback server, then the estimate sees its cached answers
    monkeypatch.setenv("DASHSCOPE_API_KEY", "k")
    run_eval(*args[:2], f"backend.base_url={server.dashscope_url}", *args[3:])
    monkeypatch.delenv("DASHSCOPE_API_KEY")
    local = cli("estimate", *args[:2], f"backend.base_url={server.dashscope_url}", *args[3:])
    assert _numbers(local.stdout) == {"samples": "4", "cached": "4", "send": "0"}
