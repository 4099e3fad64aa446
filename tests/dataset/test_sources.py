"""Bad rows become error rows; local files and the hf source path read the HF schema."""

from __future__ import annotations

import io
import json
from pathlib import Path

import datasets
import pandas as pd
import pytest
from PIL import Image

from evalkit import load_run
from evalkit.compose.tasks import load_task
from evalkit.dataset.features import hub_features
from evalkit.resources import sample_data_dir


def _png(color: str = "white") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="PNG")
    return buf.getvalue()


DOCVQA_FEATURES = hub_features(load_task("docvqa").dataset.features)  # as the YAML declares


def _doc_row(qid: str, answers: list[str] | None, image: bytes) -> dict[str, object]:
    return {"questionId": qid, "question": "What is the total?", "question_types": ["form"],
            "image": {"bytes": image, "path": None}, "docId": 1, "ucsf_document_id": "x",
            "ucsf_document_page_no": "1", "answers": answers, "data_split": "val"}  # fmt: skip


def test_corrupt_image_and_missing_field_become_error_rows(run_eval, tmp_path: Path) -> None:
    rows = [
        _doc_row("ok-1", ["1"], _png()),
        _doc_row("corrupt", ["1"], b"\x89PNG\r\n\x1a\n but not really a png"),
        _doc_row("no-answers", None, _png()),
        _doc_row("ok-2", ["9999"], _png("black")),
    ]
    path = tmp_path / "docs.parquet"
    datasets.Dataset.from_list(rows, features=DOCVQA_FEATURES).to_parquet(str(path))
    outcome = run_eval("task=docvqa", "dataset=local", f"dataset.path={path}")
    run = load_run(outcome.run_dir)
    samples = run.samples.set_index("sample_id")
    assert list(run.samples["sample_id"]) == ["ok-1", "corrupt", "no-answers", "ok-2"]
    assert samples.loc["corrupt", "error_type"] == "CorruptImage"
    assert samples.loc["no-answers", "error_type"] == "MissingField"
    assert "answers" in samples.loc["no-answers", "error"]
    for bad in ("corrupt", "no-answers"):
        assert pd.isna(samples.loc[bad, "anls"]) and pd.isna(samples.loc[bad, "prediction"])
        assert "\n" not in samples.loc[bad, "error"]
    assert samples.loc["ok-1", "anls"] == 1.0 and samples.loc["ok-2", "anls"] == 0.0
    assert run.summary is not None
    anls_row = run.summary[run.summary["kind"] == "metric"].set_index("metric").loc["anls"]
    assert (anls_row["value"], anls_row["n"], anls_row["n_failed"]) == (0.5, 2, 2)
    assert run.manifest is not None
    assert run.manifest["counts"]["errors"] == {"CorruptImage": 1, "MissingField": 1}


def test_jsonl_with_paths_a_missing_key_and_a_broken_line(run_eval, tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(_png())
    good = {"questionId": "a", "question": "Q?", "image": "img.png", "answers": ["1"]}
    missing = {"questionId": "b", "question": "Q?", "image": "img.png"}
    lost = {"questionId": "c", "question": "Q?", "image": "nowhere.png", "answers": ["1"]}
    lines = [json.dumps(good), json.dumps(missing), "{not json", json.dumps(lost)]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    # three of four rows are bad: the error-rate gate would fail the run, and these rows are
    # what this test reads
    outcome = run_eval("task=docvqa", "dataset=local", f"dataset.path={path}",
                       "limits.max_error_rate=null")  # fmt: skip
    run = load_run(outcome.run_dir)
    by_id = run.samples.set_index("sample_id")
    assert by_id.loc["a", "anls"] == 1.0
    assert by_id.loc["b", "error_type"] == "MissingField"
    assert "column 'answers' is missing" in by_id.loc["b", "error"]
    assert by_id.loc["row-2", "error_type"] == "DataError"
    assert "rows.jsonl:3: invalid JSON" in by_id.loc["row-2", "error"]
    assert by_id.loc["c", "error_type"] == "CorruptImage"


def test_url_images_go_to_the_server_unfetched_and_grounding_refuses_them(
    run_eval, tmp_path: Path
) -> None:
    """A dataset may name its images by http(s) URL: the server fetches them, evalkit never
    does (no network here). Grounding needs the pixel size to compare boxes, so it refuses."""
    from evalkit.dataset.images import load_image

    url = "https://images.example/receipt.jpg"
    ref = load_image({"bytes": None, "path": url})
    assert (ref.url, ref.data, ref.width, ref.height) == (url, b"", None, None)
    assert load_image(url).url == url

    doc = {"questionId": "u1", "question": "Q?", "image": url, "answers": ["1"]}
    (tmp_path / "docs.jsonl").write_text(json.dumps(doc) + "\n")
    docs = load_run(
        run_eval("task=docvqa", "dataset=local", f"dataset.path={tmp_path / 'docs.jsonl'}").run_dir
    )
    row = docs.samples.iloc[0]
    assert row["anls"] == 1.0 and pd.isna(row["image_width"])

    ref_row = {
        "question_id": "r1",
        "image": {"bytes": None, "path": url},
        "answer": ["the dog"],
        "bbox": [1.0, 2.0, 3.0, 4.0],
    }
    (tmp_path / "refs.jsonl").write_text(json.dumps(ref_row) + "\n")
    refs = load_run(
        run_eval("task=refcoco", "dataset=local", f"dataset.path={tmp_path / 'refs.jsonl'}",
                 "limits.max_error_rate=null").run_dir
    )  # fmt: skip
    assert list(refs.samples["error_type"]) == ["MissingField"]
    assert "grounding needs the image bytes or a local path" in refs.samples["error"].iloc[0]


def test_duplicate_ids_are_error_rows(run_eval, tmp_path: Path) -> None:
    rows = [_doc_row("same", ["1"], _png()), _doc_row("same", ["1"], _png())]
    path = tmp_path / "dup.parquet"
    datasets.Dataset.from_list(rows, features=DOCVQA_FEATURES).to_parquet(str(path))
    run = load_run(run_eval("task=docvqa", "dataset=local", f"dataset.path={path}").run_dir)
    assert run.samples["sample_id"].is_unique
    assert list(run.samples["error_type"].fillna("")) == ["", "DataError"]


def test_hf_source_reads_a_local_dataset_folder(
    run_eval, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real `datasets.load_dataset` path (streaming) on a folder in the Hub layout."""
    folder = tmp_path / "DocVQA-copy"
    (folder / "DocVQA").mkdir(parents=True)
    # the Hub repository layout: one folder per configuration, declared in the card's YAML
    (folder / "README.md").write_text(
        "---\nconfigs:\n- config_name: DocVQA\n  data_files:\n  - split: validation\n"
        "    path: DocVQA/validation-*.parquet\n---\n"
    )
    rows = [_doc_row(f"q{i}", ["1", "one"], _png()) for i in range(5)]
    datasets.Dataset.from_list(rows, features=DOCVQA_FEATURES).to_parquet(
        str(folder / "DocVQA" / "validation-00000-of-00001.parquet")
    )
    outcome = run_eval("task=docvqa", "dataset=hf", f"dataset.id={folder}", "dataset.limit=4")
    run = load_run(outcome.run_dir)
    assert list(run.samples["sample_id"]) == ["q0", "q1", "q2", "q3"]
    assert (run.samples["anls"] == 1.0).all()
    assert run.manifest is not None
    pinned = load_task("docvqa").dataset.revision  # the task's; a local folder ignores it
    assert pinned is not None and len(pinned) == 40
    expected = {"source": "hf", "id": str(folder), "config": "DocVQA", "split": "validation",
                "revision": pinned, "subset": None, "images": None, "subset_ids": None, "release": None,
                "samples": 4,
                "rows_expected": 5349, "rows_seen": None}  # fmt: skip
    assert run.manifest["dataset"] == expected  # a limited run did not read the whole split

    assert not [r for r in caplog.records if "rows of" in r.getMessage()]

    # a whole split: the count read is recorded, and a count unlike the task's is a warning
    whole = load_run(run_eval("task=docvqa", "dataset=hf", f"dataset.id={folder}").run_dir)
    assert whole.manifest is not None
    assert whole.manifest["dataset"]["rows_seen"] == 5
    assert whole.manifest["dataset"]["rows_expected"] == 5349
    [warning] = [r for r in caplog.records if "rows of" in r.getMessage()]
    assert warning.levelname == "WARNING"
    assert warning.getMessage() == (
        f"dataset: read 5 rows of {folder} at {pinned} split 'validation', the task expects 5349 "
        "(its Hub "
        "copy has changed?); scores are not comparable with runs over the expected rows"
    )


def test_hf_source_on_the_bundled_sample_keeps_the_original_image_bytes() -> None:
    from evalkit.dataset.hf import iter_hf_rows

    path = sample_data_dir() / "vqav2"
    row = next(iter_hf_rows(path=str(path), config=None, split="validation", revision=None,
                            image_column="image"))  # fmt: skip
    raw = pd.read_parquet(path / "validation.parquet").iloc[0]
    assert row["image"]["bytes"] == raw["image"]["bytes"]
    assert row["image"]["bytes"][:3] == b"\xff\xd8\xff"  # still the JPEG file


def test_unknown_hf_folder_is_a_config_error(run_eval, tmp_path: Path) -> None:
    from evalkit.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot open dataset"):
        run_eval("task=docvqa", "dataset=hf", f"dataset.id={tmp_path / 'nothing'}")


def test_a_hub_out_of_reach_is_one_line_within_seconds(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import time

    # online mode, and the Hub's address is a loopback port where nothing listens
    env = {"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:1"}
    started = time.monotonic()
    proc = cli("task=docvqa", "dataset=hf", "dataset.limit=2", env=env)
    assert time.monotonic() - started < 15
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("evalkit: error: cannot reach the Hugging Face Hub for dataset "
                           "'lmms-lab/DocVQA' (127.0.0.1: Connection refused)")  # fmt: skip
    assert "HF_HUB_OFFLINE=1" in line and "dataset=local" in line
    assert not list((tmp_path / "results").rglob("20*"))  # no half-made run folder left
