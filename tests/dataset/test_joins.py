"""Splits that need more than their own rows: images joined by id, id lists, rows without ids."""

from __future__ import annotations

import io
from pathlib import Path

import datasets
import pandas as pd
import pytest
from PIL import Image

from evalkit import load_run
from evalkit.compose.tasks import load_task
from evalkit.dataset.features import hub_features
from evalkit.errors import ConfigError
from evalkit.resources import sample_data_dir


def _jpeg(colour: str) -> dict[str, object]:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buf, format="JPEG")
    return {"bytes": buf.getvalue(), "path": None}


def _gqa_files(tmp_path: Path) -> tuple[Path, Path]:
    """Three questions over two images, one naming an image the image rows lack."""
    questions = [
        {"id": "q1", "imageId": "n1", "question": "What color is it?", "answer": "red",
         "types": {"structural": "query", "semantic": "attr", "detailed": "colorVerify"}},
        {"id": "q2", "imageId": "n2", "question": "Is it blue?", "answer": "yes",
         "types": {"structural": "verify", "semantic": "attr", "detailed": "verifyAttr"}},
        {"id": "q3", "imageId": "n9", "question": "What is it?", "answer": "box",
         "types": {"structural": "query", "semantic": "obj", "detailed": "objQuery"}},
    ]  # fmt: skip
    data = load_task("gqa").dataset  # the schemas its YAML declares, the columns used here
    assert data.images is not None
    features = hub_features({name: data.features[name] for name in questions[0]})
    rows = tmp_path / "instructions.parquet"
    datasets.Dataset.from_list(questions, features=features).to_parquet(str(rows))
    images = tmp_path / "images.parquet"
    image_rows = [{"id": "n1", "image": _jpeg("red")}, {"id": "n2", "image": _jpeg("blue")}]
    datasets.Dataset.from_list(image_rows, features=hub_features(data.images.features)).to_parquet(
        str(images)
    )
    return rows, images


def test_gqa_questions_get_their_images_by_id(run_eval, tmp_path: Path) -> None:
    rows, images = _gqa_files(tmp_path)
    outcome = run_eval("task=gqa", "dataset=local", f"dataset.path={rows}",
                       f"dataset.images={images}", "backend.answer=red")  # fmt: skip
    run = load_run(outcome.run_dir)
    samples = run.samples.set_index("sample_id")
    assert samples.loc["q1", "exact_match"] == 1.0 and samples.loc["q2", "exact_match"] == 0.0
    assert samples.loc["q1", "image_width"] == 32  # the joined image, decoded for its size
    assert samples.loc["q3", "error_type"] == "MissingField"
    assert "image 'n9' is not among the 2 of" in samples.loc["q3", "error"]
    assert list(samples["types.structural"][:2]) == ["query", "verify"]  # a struct's field
    summary = run.summary
    by_type = summary[summary["group_by"] == "types.structural"].set_index("group")
    assert by_type.loc["query", "value"] == 1.0 and by_type.loc["verify", "value"] == 0.0
    assert run.manifest is not None
    assert run.manifest["dataset"]["images"] == "testdev_balanced_images"


def test_a_joined_task_on_local_files_needs_the_image_rows(run_eval, tmp_path: Path) -> None:
    rows, _ = _gqa_files(tmp_path)
    with pytest.raises(ConfigError, match=r"give dataset.images=FILE_OR_DIR"):
        run_eval("task=gqa", "dataset=local", f"dataset.path={rows}")


def test_the_hub_path_joins_the_two_configurations(run_eval, tmp_path: Path) -> None:
    """`datasets.load_dataset` on a folder laid out as lmms-lab/GQA, both configurations."""
    folder = tmp_path / "GQA"
    for config in ("testdev_balanced_instructions", "testdev_balanced_images"):
        (folder / config).mkdir(parents=True)
    (folder / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: testdev_balanced_instructions\n  data_files:\n  - split: testdev\n"
        "    path: testdev_balanced_instructions/testdev-*.parquet\n"
        "- config_name: testdev_balanced_images\n  data_files:\n  - split: testdev\n"
        "    path: testdev_balanced_images/testdev-*.parquet\n---\n"
    )
    sample = sample_data_dir() / "gqa"
    (folder / "testdev_balanced_instructions" / "testdev-0.parquet").write_bytes(
        (sample / "testdev.parquet").read_bytes()
    )
    (folder / "testdev_balanced_images" / "testdev-0.parquet").write_bytes(
        (sample / "images" / "testdev.parquet").read_bytes()
    )
    run = load_run(run_eval("task=gqa", "dataset=hf", f"dataset.id={folder}").run_dir)
    assert len(run.samples) == 60 and run.samples["error_type"].isna().all()
    bundled = load_run(run_eval("task=gqa").run_dir)  # the same rows, from the bundled files
    assert list(run.samples["exact_match"]) == list(bundled.samples["exact_match"])
    assert list(run.samples["image_width"]) == list(bundled.samples["image_width"])


def _flickr_rows(tmp_path: Path, names: list[str]) -> Path:
    rows = [{"image": _jpeg("green"), "caption": [f"a picture {k}"] * 5, "img_id": str(k),
             "filename": name} for k, name in enumerate(names)]  # fmt: skip
    path = tmp_path / "flickr.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def test_a_subset_list_keeps_only_the_rows_it_names(run_eval, tmp_path: Path) -> None:
    data = _flickr_rows(tmp_path, ["1.jpg", "2.jpg", "3.jpg", "4.jpg"])
    listing = tmp_path / "karpathy.txt"
    listing.write_text("# test split of a made-up list\n2.jpg\n\n4.jpg  # last\n")
    outcome = run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                       f"task.dataset.subset.file={listing}")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert list(run.samples["filename"]) == ["2.jpg", "4.jpg"]
    assert run.manifest is not None
    assert run.manifest["dataset"]["subset"] == str(listing)
    assert run.manifest["dataset"]["rows_seen"] == 4  # rows read, before the cut

    whole = load_run(run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                              "task.dataset.subset=null").run_dir)  # fmt: skip
    assert len(whole.samples) == 4


def test_a_missing_or_empty_subset_list_is_one_line_before_any_call(
    run_eval, tmp_path: Path
) -> None:
    data = _flickr_rows(tmp_path, ["1.jpg"])
    with pytest.raises(ConfigError, match=r"subset list .* is missing \(build it with"):
        run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                 f"task.dataset.subset.file={tmp_path / 'absent.txt'}")  # fmt: skip
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="lists no ids"):
        run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                 f"task.dataset.subset.file={empty}")  # fmt: skip


def test_the_bundled_sample_is_not_cut(run_eval) -> None:
    run = load_run(run_eval("task=flickr30k").run_dir)  # its list file need not exist
    assert len(run.samples) == 50
    assert run.manifest is not None and run.manifest["dataset"]["subset"] is None


def test_rows_without_an_id_column_are_named_by_position(run_eval) -> None:
    run = load_run(run_eval("task=chartqa", "dataset.limit=5").run_dir)
    assert list(run.samples["sample_id"]) == ["0", "1", "2", "3", "4"]
    again = load_run(run_eval("task=chartqa", "dataset.limit=5").run_dir)
    assert list(again.samples["sample_id"]) == list(run.samples["sample_id"])


def test_parallel_question_lists_become_one_sample_each(run_eval) -> None:
    covers = pd.read_parquet(sample_data_dir() / "ocrvqa" / "test.parquet")
    run = load_run(run_eval("task=ocrvqa", "backend.answer=Yes").run_dir)
    assert len(run.samples) == covers["questions"].map(len).sum()
    first = covers.iloc[0]
    ids = [f"{first['image_id']}#{k}" for k in range(len(first["questions"]))]
    rows = run.samples.set_index("sample_id").loc[ids]
    assert [list(r) for r in rows["references"]] == [[a] for a in first["answers"]]
    assert list(rows["exact_match"]) == [float(a == "Yes") for a in first["answers"]]


def test_the_karpathy_script_writes_the_list_a_task_cuts_with(run_eval, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    source = tmp_path / "dataset_flickr30k.json"
    source.write_text(json.dumps({"dataset": "flickr30k", "images": [
        {"filename": "1.jpg", "split": "train"}, {"filename": "2.jpg", "split": "test"},
        {"filename": "3.jpg", "split": "val"}, {"filename": "4.jpg", "split": "test"},
    ]}))  # fmt: skip
    listing = tmp_path / "list.txt"
    script = Path(__file__).resolve().parents[2] / "scripts" / "karpathy_split.py"
    proc = subprocess.run([sys.executable, str(script), str(source), "-o", str(listing)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 test images, expected 1000" in proc.stderr  # a partial file is said, not hidden
    lines = listing.read_text().splitlines()
    assert lines[0] == "# Karpathy test split of flickr30k: 2 images"
    assert lines[-2:] == ["2.jpg", "4.jpg"]
    data = _flickr_rows(tmp_path, ["1.jpg", "2.jpg", "3.jpg", "4.jpg"])
    run = load_run(run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                            f"task.dataset.subset.file={listing}").run_dir)  # fmt: skip
    assert list(run.samples["filename"]) == ["2.jpg", "4.jpg"]


def _karpathy_copy(tmp_path: Path, test: list[str], *, jsonl: bool = False) -> Path:
    """A copy of the annotations that kept Karpathy's split column, one file per split."""
    folder = tmp_path / "karpathy_copy"
    folder.mkdir()
    for split, names in {"train": ["1.jpg", "3.jpg"], "test": test}.items():
        frame = pd.DataFrame({"filename": names, "split": split,
                              "caption": [[f"caption of {n}"] * 5 for n in names]})  # fmt: skip
        if jsonl:
            frame.to_json(folder / f"{split}.jsonl", orient="records", lines=True)
        else:
            frame.to_parquet(folder / f"{split}.parquet")
    return folder


@pytest.mark.parametrize("jsonl", [False, True], ids=["parquet", "json-lines"])
def test_a_subset_can_be_another_datasets_split_column(
    run_eval, tmp_path: Path, jsonl: bool
) -> None:
    copy = _karpathy_copy(tmp_path, ["2.jpg", "4.jpg"], jsonl=jsonl)
    data = _flickr_rows(tmp_path, ["1.jpg", "2.jpg", "3.jpg", "4.jpg"])
    outcome = run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                       f"task.dataset.subset.hf_id={copy}", "task.dataset.subset.rows=2")  # fmt: skip
    run = load_run(outcome.run_dir)
    assert list(run.samples["filename"]) == ["2.jpg", "4.jpg"]  # the test split's, not train's
    assert run.manifest is not None
    data_record = run.manifest["dataset"]
    assert data_record["subset"] == f"{copy}:test:filename"
    assert (data_record["subset_ids"], data_record["subset_kept"]) == (2, 2)
    assert data_record["rows_seen"] == 4


def test_a_subset_read_from_a_dataset_is_checked_against_the_task(
    run_eval, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = _karpathy_copy(tmp_path, ["2.jpg", "4.jpg", "9.jpg"])
    data = _flickr_rows(tmp_path, ["1.jpg", "2.jpg", "3.jpg", "4.jpg"])
    with caplog.at_level("WARNING"):
        run = load_run(run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                                f"task.dataset.subset.hf_id={copy}").run_dir)  # fmt: skip
    said = caplog.text
    assert f"{copy}:test:filename lists 3 ids, the task expects 1000" in said
    assert "names 3 ids, the split holds 2 of them; the rest were not scored" in said
    assert run.manifest is not None and run.manifest["dataset"]["subset_kept"] == 2

    with pytest.raises(ConfigError, match=r"karpathy_copy:test:name: no column 'name'"):
        run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                 f"task.dataset.subset.hf_id={copy}", "task.dataset.subset.id_column=name")  # fmt: skip
    with pytest.raises(ConfigError, match=r"Bad split: val.*or give the list as task\.dataset"):
        run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                 f"task.dataset.subset.hf_id={copy}", "task.dataset.subset.split=val")  # fmt: skip


def test_a_subset_file_wins_over_the_dataset_it_would_be_read_from(
    run_eval, tmp_path: Path
) -> None:
    data = _flickr_rows(tmp_path, ["1.jpg", "2.jpg", "3.jpg"])
    listing = tmp_path / "list.txt"
    listing.write_text("3.jpg\n")
    absent = tmp_path / "no_such_copy"  # never opened: the file is the list
    run = load_run(run_eval("task=flickr30k", "dataset=local", f"dataset.path={data}",
                            f"task.dataset.subset.hf_id={absent}",
                            f"task.dataset.subset.file={listing}").run_dir)  # fmt: skip
    assert list(run.samples["filename"]) == ["3.jpg"]
    with pytest.raises(ConfigError, match="dataset.subset needs a file or an hf_id"):
        run_eval("task=flickr30k", "task.dataset.subset.hf_id=null")


def test_the_karpathy_tasks_name_where_their_lists_come_from() -> None:
    from evalkit.compose.tasks import load_task

    coco = load_task("coco_karpathy").dataset.subset
    assert coco is not None and coco.file is None
    assert (coco.hf_id, coco.split, coco.id_column, coco.rows) == (
        "yerevann/coco-karpathy", "test", "filename", 5000)  # fmt: skip
    assert coco.revision is not None and len(coco.revision) == 40
    flickr = load_task("flickr30k").dataset.subset
    assert flickr is not None and (flickr.column, flickr.split, flickr.rows) == (
        "filename", "test", 1000)  # fmt: skip
