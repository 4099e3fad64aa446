"""``backend=hf`` on a tiny random Qwen2-VL built here and loaded through from_pretrained."""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

_MISSING = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
if _MISSING:  # found without importing them: collecting costs nothing in other test processes
    pytest.skip(f"needs {', '.join(_MISSING)}: pip install -e '.[hf]'", allow_module_level=True)

from PIL import Image  # noqa: E402

from evalkit.backends.hf import HFBackend  # noqa: E402
from evalkit.backends.hf_load import fingerprint  # noqa: E402
from evalkit.cache.key import cache_key  # noqa: E402
from evalkit.config import HFConfig  # noqa: E402
from evalkit.records import (  # noqa: E402
    GenerationParams,
    ImagePart,
    ImageRef,
    Message,
    Request,
    TextPart,
)
from evalkit.testing.tiny_vlm import build_tiny_qwen2_5_vl, build_tiny_qwen2_vl  # noqa: E402

from ..conftest import main_in_process, results_of, run_main  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_qwen2_vl(tmp_path_factory.mktemp("tiny") / "qwen2-vl", stop_bias=1.0)


def _image(width: int, height: int, colour: tuple[int, int, int]) -> ImageRef:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return ImageRef(buffer.getvalue(), width, height, "PNG")


def _requests(max_tokens: int = 12, stop: tuple[str, ...] = ()) -> list[Request]:
    red, green, blue = (
        _image(200, 120, (200, 10, 10)),
        _image(60, 90, (10, 200, 10)),
        _image(90, 90, (0, 0, 250)),
    )
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0, stop=stop)
    user = lambda *parts: Message("user", tuple(parts))  # noqa: E731
    return [
        Request("one-image", (user(ImagePart(red), TextPart("What is it?")),), params),
        Request(
            "no-image",
            (user(TextPart("No image here at all, a much longer question than the others")),),
            params,
        ),
        Request("two-images", (user(ImagePart(green), ImagePart(blue), TextPart("Two?")),), params),
        Request(
            "multi-turn",
            (
                user(ImagePart(blue), TextPart("Colour?")),
                Message("assistant", (TextPart("blue"),)),
                user(TextPart("Sure?")),
            ),
            params,
        ),  # fmt: skip
    ]


def _backend(folder: Path, **options: object) -> HFBackend:
    config = HFConfig(name="hf", model=str(folder), device="cpu", dtype="float32", **options)  # type: ignore[arg-type]
    return HFBackend.from_config(config)


def _answer(backend: HFBackend, requests: list[Request]) -> list:  # type: ignore[type-arg]
    async def main() -> list:  # type: ignore[type-arg]
        return await asyncio.gather(*(backend.generate(r) for r in requests))

    return asyncio.run(main())


def test_a_batch_answers_token_for_token_what_one_at_a_time_answers(checkpoint: Path) -> None:
    requests = _requests()
    batched = _backend(checkpoint, batch_size=8)
    together = _answer(batched, requests)
    assert batched.batcher.sizes == [4]  # concurrent requests really were one generate call
    single = _backend(checkpoint, batch_size=1)
    alone = _answer(single, requests)
    assert single.batcher.sizes == [1, 1, 1, 1]
    assert [c.text for c in together] == [c.text for c in alone]
    assert [c.usage for c in together] == [c.usage for c in alone]
    assert [c.finish_reason for c in together] == [c.finish_reason for c in alone]
    assert {c.batch_size for c in together} == {4} and {c.batch_size for c in alone} == {1}


def test_usage_counts_the_prompt_without_padding_and_the_images_placeholders(
    checkpoint: Path,
) -> None:
    backend = _backend(checkpoint, batch_size=8)
    answers = _answer(backend, _requests(max_tokens=12))
    processor = backend.loaded.processor
    for request, answer in zip(_requests(), answers, strict=True):
        from evalkit.backends.hf import conversation

        turns, data = conversation(request)
        text = processor.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        images = [Image.open(io.BytesIO(b)).convert("RGB") for b in data] or None
        alone = processor(text=[text], images=images, return_tensors="pt")
        assert answer.usage.input_tokens == alone["input_ids"].shape[1]  # no padding counted
        expected_images = int((alone["input_ids"] == backend.loaded.image_token_id).sum())
        assert answer.usage.image_tokens == expected_images
        assert (expected_images > 0) == bool(data)
        assert 1 <= answer.usage.output_tokens <= 12
        if answer.usage.output_tokens < 12:  # it ended: on its end token, which is counted
            assert answer.finish_reason == "stop"
        if answer.finish_reason == "length":
            assert answer.usage.output_tokens == 12


def test_stop_strings_and_max_tokens_set_the_finish_reason(checkpoint: Path) -> None:
    backend = _backend(checkpoint, batch_size=8)
    free = _answer(backend, _requests(max_tokens=12))
    text = next(c.text for c in free if len(c.text) > 4)
    stop = text[2:4]
    stopped = _answer(backend, _requests(max_tokens=12, stop=(stop,)))
    for before, after in zip(free, stopped, strict=True):
        if stop in before.text:
            assert after.text == before.text[: before.text.find(stop)]
            assert after.finish_reason == "stop"
    short = _answer(backend, _requests(max_tokens=2))
    assert all(c.usage.output_tokens <= 2 for c in short)
    assert any(c.finish_reason == "length" for c in short)


def test_the_checkpoints_own_sampling_defaults_change_nothing(
    checkpoint: Path, tmp_path: Path
) -> None:
    sampling = tmp_path / "sampling"
    shutil.copytree(checkpoint, sampling)
    path = sampling / "generation_config.json"
    data = json.loads(path.read_text())
    data.update(do_sample=True, temperature=0.9, top_k=5, top_p=0.5, repetition_penalty=1.3)
    path.write_text(json.dumps(data))
    plain = _answer(_backend(checkpoint), _requests())
    theirs = _answer(_backend(sampling), _requests())
    assert [c.text for c in plain] == [c.text for c in theirs]


def test_a_changed_checkpoint_at_the_same_path_gets_a_new_cache_key(
    checkpoint: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "ckpt"
    shutil.copytree(checkpoint, folder)
    request = _requests()[0]
    first = _backend(folder)
    key = cache_key(first.identity, request, first.cache_options())
    assert cache_key(first.identity, request, _backend(folder).cache_options()) == key
    build_tiny_qwen2_vl(folder, seed=1)  # retrained: saved again in the same place
    again = _backend(folder)
    assert again.loaded.fingerprint != first.loaded.fingerprint
    assert cache_key(again.identity, request, again.cache_options()) != key
    assert fingerprint(folder) == again.loaded.fingerprint


@pytest.mark.slow  # torch and the model loaded in a new process; in-process runs stay in make test
def test_make_eval_on_the_tiny_model_writes_the_usual_folder_and_caches(
    checkpoint: Path,
    cli: Callable[..., subprocess.CompletedProcess[str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """From a new process as a user runs it; the rerun, in this one, answers from the cache."""
    import pyarrow.parquet as pq

    args = ("task=vqav2", "backend=hf", f"backend.model={checkpoint}", "backend.batch_size=4",
            "backend.device=cpu", "backend.dtype=float32", "dataset.limit=12",
            "limits.concurrency=1",  # the backend keeps 2 x batch_size in flight all the same
            f"cache.path={tmp_path / 'cache.sqlite'}")  # fmt: skip
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    run = results_of(proc, tmp_path)
    rows = pq.read_table(run / "samples.parquet").to_pylist()
    assert len(rows) == 12 and all(r["error"] is None for r in rows)
    assert all(r["input_tokens"] > r["image_tokens"] > 0 and r["output_tokens"] >= 1 for r in rows)
    assert {r["batch_size"] for r in rows} <= {1, 2, 3, 4} and max(
        r["batch_size"] for r in rows
    ) == 4
    assert all(r["cost"] == 0.0 for r in rows)  # a local model costs nothing
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["backend"]["name"] == "hf"
    again = main_in_process(capsys, tmp_path, *args)
    assert again.returncode == 0, again.stderr
    second = results_of(again, tmp_path)
    hits = pq.read_table(second / "samples.parquet").column("cache_hit").to_pylist()
    assert hits == [True] * 12
    assert [r["prediction"] for r in pq.read_table(second / "samples.parquet").to_pylist()] == [
        r["prediction"] for r in rows
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["backend.model=/nowhere/at/all"], "backend.model=/nowhere/at/all: no such folder"),
        (["backend.device=cuda:3"], "backend.device=cuda:3: this machine has 0 CUDA device(s)"),
        (["backend.dtype=int4"], "backend.dtype=int4: write auto, bfloat16, float16 or float32"),
    ],
)
def test_a_model_that_cannot_load_is_one_line(
    checkpoint: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str,
) -> None:  # fmt: skip
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    code, err = run_main(capsys, tmp_path, "task=vqav2", "backend=hf", f"backend.model={checkpoint}",
                      "dataset.limit=2", *extra)  # fmt: skip
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(f"evalkit: error: {message}"), err


def test_a_checkpoint_without_a_chat_template_is_one_line(
    checkpoint: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bare = tmp_path / "no-template"
    shutil.copytree(checkpoint, bare)
    (bare / "chat_template.jinja").unlink()
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    code, err = run_main(capsys, tmp_path, "task=vqav2", "backend=hf", f"backend.model={bare}",
                      "dataset.limit=2")  # fmt: skip
    assert code == 2
    assert "has no chat template" in err.strip().splitlines()[-1], err


def test_out_of_memory_splits_the_batch_and_fails_only_what_does_not_fit(
    checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from evalkit.errors import BackendError

    backend = _backend(checkpoint, batch_size=8)
    real, seen = backend._generate, []

    def tight(requests: list[Request]) -> list:  # type: ignore[type-arg]
        seen.append(len(requests))
        if len(requests) > 1 or requests[0].sample_id == "two-images":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(requests)

    monkeypatch.setattr(backend, "_generate", tight)

    async def main() -> list:  # type: ignore[type-arg]
        return await asyncio.gather(*(backend.generate(r) for r in _requests()),
                                    return_exceptions=True)  # fmt: skip

    answers = asyncio.run(main())
    assert seen == [4, 2, 1, 1, 2, 1, 1]  # halves, then quarters
    assert isinstance(answers[2], BackendError) and "out of memory" in str(answers[2])
    assert all(not isinstance(a, BaseException) for i, a in enumerate(answers) if i != 2)
    assert [a.text for i, a in enumerate(answers) if i != 2] == [
        c.text
        for i, c in enumerate(_answer(_backend(checkpoint, batch_size=1), _requests()))
        if i != 2
    ]


def test_qwen2_5_vl_batches_as_it_answers_alone(tmp_path: Path) -> None:
    folder = build_tiny_qwen2_5_vl(tmp_path / "qwen2.5-vl")
    batched, single = _backend(folder, batch_size=8), _backend(folder, batch_size=1)
    assert type(batched.loaded.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    together, alone = _answer(batched, _requests()), _answer(single, _requests())
    assert batched.batcher.sizes == [4]
    assert [(c.text, c.usage) for c in together] == [(c.text, c.usage) for c in alone]
    assert all(c.usage.image_tokens for c in together if c is not together[1])


def test_examples_reach_the_chat_template_and_their_images_are_counted(
    checkpoint: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    args = ("task=okvqa", "backend=hf", f"backend.model={checkpoint}", "backend.device=cpu",
            "backend.dtype=float32", "dataset.limit=3", "cache.mode=off")  # fmt: skip
    rows = {}
    for k in (0, 2):
        proc = main_in_process(capsys, tmp_path, *args, f"task.fewshot.k={k}")
        assert proc.returncode == 0, proc.stderr
        run = results_of(proc, tmp_path)
        rows[k] = pq.read_table(run / "samples.parquet").to_pylist()
    assert all(r["error"] is None for r in rows[0] + rows[2])
    for alone, shown in zip(rows[0], rows[2], strict=True):
        # the bundled images are all one size, so two examples bring twice the image's tokens
        assert shown["image_tokens"] == 3 * alone["image_tokens"] > 0
        assert shown["input_tokens"] > alone["input_tokens"] + 2 * alone["image_tokens"]
        assert len(shown["fewshot_ids"]) == 2


@pytest.mark.parametrize(
    ("name", "damage", "expected"),
    [
        (
            "model.safetensors",
            lambda b: b[: len(b) // 2],
            "model.safetensors is damaged: not a complete safetensors file",
        ),
        (
            "model.safetensors",
            lambda b: b"",
            "model.safetensors is damaged: not a complete safetensors file",
        ),
        ("config.json", lambda b: b[:10], "config.json is damaged: not valid JSON"),
        ("tokenizer.json", lambda b: b[:100], "tokenizer.json is damaged: not valid JSON"),
    ],
    ids=["truncated-weights", "empty-weights", "corrupt-config", "corrupt-tokenizer"],
)
def test_a_damaged_checkpoint_file_is_one_line_naming_it(
    checkpoint: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    name: str, damage: Callable[[bytes], bytes], expected: str,
) -> None:  # fmt: skip
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(checkpoint, broken)
    (broken / name).write_bytes(damage((broken / name).read_bytes()))
    code, err = run_main(capsys, tmp_path, "task=vqav2", "backend=hf", f"backend.model={broken}",
                      "dataset.limit=1", "backend.device=cpu")  # fmt: skip
    assert code == 2, err
    [line] = err.strip().splitlines()[-1:]
    assert line.startswith(f"evalkit: error: backend.model={broken}: {expected}"), err
    assert "Traceback" not in err
