"""In-context examples (``task.fewshot``) as earlier turns, checked on what the servers receive."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.errors import ConfigError
from evalkit.resources import sample_data_dir
from evalkit.testing.fake_server import FakeVLMServer


def _pool() -> pd.DataFrame:
    frame = pd.read_parquet(sample_data_dir() / "okvqa" / "val2014.parquet")
    frame["digest"] = frame["image"].map(lambda i: hashlib.sha256(i["bytes"]).hexdigest())
    return frame.set_index("question_id")


def _digest(url: str) -> str:
    return hashlib.sha256(base64.b64decode(url.split(",", 1)[1])).hexdigest()


def _openai_turns(body: dict[str, Any]) -> Iterator[tuple[str, list[str], str]]:
    for message in body["messages"]:
        images = [_digest(p["image_url"]["url"]) for p in message["content"]
                  if p["type"] == "image_url"]  # fmt: skip
        text = "".join(p["text"] for p in message["content"] if p["type"] == "text")
        yield message["role"], images, text


def _dashscope_turns(body: dict[str, Any]) -> Iterator[tuple[str, list[str], str]]:
    for message in body["input"]["messages"]:
        images = [_digest(p["image"]) for p in message["content"] if "image" in p]
        text = "".join(p["text"] for p in message["content"] if "text" in p)
        yield message["role"], images, text


@pytest.mark.parametrize("backend", ["openai", "dashscope"])
def test_four_examples_go_first_as_turns_with_their_images(
    run_eval, server: FakeVLMServer, backend: str
) -> None:
    url = server.openai_url if backend == "openai" else server.dashscope_url
    outcome = run_eval("task=okvqa", "task.fewshot.k=4", f"backend={backend}",
                       f"backend.base_url={url}", "backend.model=m", "backend.api_key_env=null",
                       "dataset.limit=6", "limits.concurrency=1")  # fmt: skip
    run = load_run(outcome.run_dir)
    pool = _pool()
    turns = _openai_turns if backend == "openai" else _dashscope_turns
    bodies = [r.body for r in server.received]
    assert len(bodies) == 6
    for body, (_, row) in zip(bodies, run.samples.iterrows(), strict=True):
        got = list(turns(body))
        assert [role for role, _, _ in got] == ["user", "assistant"] * 4 + ["user"]
        ids = list(row["fewshot_ids"])
        assert len(ids) == 4 and row["sample_id"] not in ids
        for k, example in enumerate(ids):
            user, assistant = got[2 * k], got[2 * k + 1]
            assert user[1] == [pool.loc[example, "digest"]]  # the example's own image
            assert user[2].startswith(pool.loc[example, "question"])
            answers = list(pool.loc[example, "answers"])
            assert assistant == ("assistant", [], max(answers, key=answers.count))
        assert got[-1][1] == [pool.loc[row["sample_id"], "digest"]]
        # never the sample's own image among its examples
        assert pool.loc[row["sample_id"], "digest"] not in {pool.loc[e, "digest"] for e in ids}
        assert row["prompt"].startswith(pool.loc[row["sample_id"], "question"])  # the question


def test_qwen_vl_base_reads_its_examples_inline_as_eval_mm_writes_them(
    run_eval, server: FakeVLMServer
) -> None:
    outcome = run_eval("task=okvqa", "task.fewshot.k=2", "backend=openai",
                       f"backend.base_url={server.openai_url}", "backend.model=qwen-vl",
                       "backend.prompt_family=qwen-vl", "dataset.limit=2")  # fmt: skip
    run = load_run(outcome.run_dir)
    pool = _pool()
    for body, (_, row) in zip((r.body for r in server.received), run.samples.iterrows(),
                              strict=True):  # fmt: skip
        [message] = body["messages"]
        kinds = [p["type"] for p in message["content"]]
        assert kinds == ["image_url", "text"] * 3  # image, "Q Answer: A", ..., image, "Q Answer:"
        texts = [p["text"] for p in message["content"] if p["type"] == "text"]
        for text, example in zip(texts, row["fewshot_ids"], strict=False):
            answers = list(pool.loc[example, "answers"])
            best = max(answers, key=answers.count)
            assert text == f"{pool.loc[example, 'question']} Answer: {best}"
        assert texts[-1] == f"{pool.loc[row['sample_id'], 'question']} Answer:"


def test_the_same_seed_draws_the_same_examples_whatever_else_runs(run_eval) -> None:
    def ids(*extra: str) -> dict[str, list[str]]:
        run = load_run(run_eval("task=okvqa", "task.fewshot.k=3", *extra).run_dir)
        return {r["sample_id"]: list(r["fewshot_ids"]) for _, r in run.samples.iterrows()}

    whole, first = ids(), ids("dataset.limit=5")
    assert all(whole[s] == first[s] for s in first)  # not a function of the other samples
    other = ids("task.fewshot.seed=7")
    assert sum(other[s] != whole[s] for s in whole) > len(whole) / 2
    none = load_run(run_eval("task=okvqa", "dataset.limit=2").run_dir)
    assert none.samples["fewshot_ids"].isna().all()


def test_the_examples_images_are_part_of_the_cache_key(run_eval, server: FakeVLMServer) -> None:
    common = ("task=okvqa", "backend=openai", f"backend.base_url={server.openai_url}",
              "backend.model=m", "dataset.limit=4")  # fmt: skip
    run_eval(*common)
    assert len(server.received) == 4
    shots = load_run(run_eval(*common, "task.fewshot.k=2").run_dir)
    assert len(server.received) == 8 and not shots.samples["cache_hit"].any()
    again = load_run(run_eval(*common, "task.fewshot.k=2").run_dir)
    assert len(server.received) == 8 and again.samples["cache_hit"].all()
    other = load_run(run_eval(*common, "task.fewshot.k=2", "task.fewshot.seed=5").run_dir)
    assert len(server.received) == 8 + int((~other.samples["cache_hit"]).sum())
    assert not other.samples["cache_hit"].all()  # other examples: other requests


def test_a_pool_that_cannot_serve_is_one_line_before_any_call(run_eval) -> None:
    with pytest.raises(ConfigError, match=r"task.fewshot.k=60: split 'val2014' has only 50"):
        run_eval("task=okvqa", "task.fewshot.k=60")
    with pytest.raises(ConfigError, match=r"bundled 'okvqa' sample: .*split"):
        run_eval("task=okvqa", "task.fewshot.k=2", "task.fewshot.split=train")


def test_the_estimate_counts_the_examples_images(cli) -> None:
    def image_tokens(*extra: str) -> int:
        proc = cli("estimate", "task=okvqa", "backend=dashscope", "backend.api_key_env=null",
                   *extra)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [line] = [x for x in proc.stdout.splitlines() if x.startswith("input tokens:")]
        return int(line.split("(images: ")[1].split(")")[0])

    alone, shown = image_tokens(), image_tokens("task.fewshot.k=4")
    assert alone > 0 and shown == 5 * alone  # the bundled images are one size: 4 more each
