"""Usage and cost per row and per run, cached answers counted as saved, and the budget cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit import load_run
from evalkit.errors import ConfigError
from evalkit.testing.fake_server import FakeVLMServer

ROW_COST = 100 / 1000 * 0.0008 + 2 / 1000 * 0.002  # the fake server's usage at qwen-vl-plus prices


def _args(server: FakeVLMServer, tmp_path: Path, model: str = "qwen-vl-plus") -> list[str]:
    return ["task=vqav2", "backend=openai", f"backend.base_url={server.openai_url}", f"backend.model={model}",
            "backend.api_key_env=null", f"cache.path={tmp_path / 'c.sqlite'}"]  # fmt: skip


def test_cost_per_row_and_saved_on_rerun(run_eval, server: FakeVLMServer, tmp_path: Path) -> None:
    first = load_run(run_eval(*_args(server, tmp_path), "dataset.limit=10").run_dir)
    assert first.samples["cost"].tolist() == pytest.approx([ROW_COST] * 10, abs=1e-12)
    assert first.manifest is not None
    assert first.manifest["cost"]["currency"] == "CNY"
    assert first.manifest["cost"]["spent"] == pytest.approx(10 * ROW_COST, abs=1e-6)
    assert first.manifest["cost"]["saved"] == 0
    second = load_run(run_eval(*_args(server, tmp_path), "dataset.limit=10").run_dir)
    assert second.manifest is not None
    assert second.manifest["cost"]["spent"] == 0
    assert second.manifest["cost"]["saved"] == pytest.approx(10 * ROW_COST, abs=1e-6)
    assert second.samples["cost"].tolist() == pytest.approx([ROW_COST] * 10, abs=1e-12)


def test_dated_model_names_use_the_family_price(
    run_eval, server: FakeVLMServer, tmp_path: Path
) -> None:
    run = load_run(
        run_eval(*_args(server, tmp_path, "qwen-vl-plus-2025-01-25"), "dataset.limit=2").run_dir
    )
    assert run.samples["cost"].tolist() == pytest.approx([ROW_COST] * 2, abs=1e-12)


def test_unknown_model_has_no_cost_and_no_crash(
    run_eval, server: FakeVLMServer, tmp_path: Path
) -> None:
    run = load_run(
        run_eval(*_args(server, tmp_path, "some-local-model"), "dataset.limit=3").run_dir
    )
    assert run.samples["cost"].isna().all() and run.samples["error_type"].isna().all()
    assert run.manifest is not None and run.manifest["cost"]["spent"] is None


def test_price_override_on_the_command_line(
    run_eval, server: FakeVLMServer, tmp_path: Path
) -> None:
    price = "+pricing.models.my-model={currency: USD, input: 1.0, output: 10.0}"
    run = load_run(run_eval(*_args(server, tmp_path, "my-model"), price, "dataset.limit=1").run_dir)
    assert run.samples["cost"].iloc[0] == pytest.approx(0.1 + 0.02)


def test_budget_cap_stops_sending_and_skips_the_rest(
    run_eval, server: FakeVLMServer, tmp_path: Path
) -> None:
    outcome = run_eval(*_args(server, tmp_path), "limits.max_cost=0.001", "limits.concurrency=1")
    run = load_run(outcome.run_dir)
    sent = len(server.received)
    assert 0 < sent < 60
    assert run.manifest is not None
    assert run.manifest["cost"]["spent"] <= 0.001
    skipped = run.samples[run.samples["error_type"] == "Skipped"]
    assert len(skipped) == 60 - sent == run.manifest["counts"]["skipped"]
    assert skipped["error"].str.contains("limits.max_cost=0.001").all()
    assert run.manifest["counts"]["failed"] == 0  # skipped samples are not failures


def test_budget_needs_a_price(run_eval, server: FakeVLMServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="limits.max_cost needs a price for model 'unpriced'"):
        run_eval(*_args(server, tmp_path, "unpriced"), "limits.max_cost=1")
    assert server.received == []


def test_a_run_stopped_by_the_budget_says_so(cli, server: FakeVLMServer, tmp_path: Path) -> None:
    proc = cli(*_args(server, tmp_path), "limits.max_cost=0.001", "limits.concurrency=1")
    assert proc.returncode == 0, proc.stderr
    sent = len(server.received)
    counts = [ln for ln in proc.stdout.splitlines() if ln.startswith("samples: ")]
    assert counts == [
        f"samples: 60  failed: 0  skipped: {60 - sent}  wall: " + counts[0].split("wall: ")[1]
    ]
    assert (
        f"stopped by the budget: limits.max_cost=0.001 reached; {60 - sent} of 60 samples"
        in proc.stdout
    )
    run = load_run(tmp_path / proc.stdout.strip().splitlines()[-1].removeprefix("results: "))
    assert run.manifest is not None and run.manifest["budget"].startswith("limits.max_cost=0.001")


def test_an_empty_dataset_or_a_subset_keeping_nothing_is_one_line(cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    proc = cli("task=docvqa", "dataset=local", f"dataset.path={empty}")
    assert proc.returncode == 2 and "samples:" not in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == (
        f"evalkit: error: no sample to evaluate: {empty} split 'validation' has no rows"
    )
    ids = tmp_path / "ids.txt"
    ids.write_text("no-such-image.jpg\n")
    sample = Path(__file__).resolve().parents[2] / "evalkit/sample_data/flickr30k/test.parquet"
    cut = cli("task=flickr30k", "dataset=local", f"dataset.path={sample}",
              f"task.dataset.subset.file={ids}")  # fmt: skip
    assert cut.returncode == 2
    assert (
        cut.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"evalkit: error: no sample to evaluate: {ids} names 1 ids and none of the 50 rows"
        )
    )
