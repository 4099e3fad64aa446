"""``dataset=local`` over a benchmark's own release files (ChartQA's JSON, MMBench's TSV).

The files are written here in each release's exact layout from the bundled samples (ChartQA:
``test/test_human.json`` and ``test/test_augmented.json``, lists of ``{imgname, query, label}``
beside ``test/png/``, as ``vis-nlp/ChartQA``'s ``ChartQA Dataset`` holds them; MMBench: the TSV
VLMEvalKit and OpenCompass distribute, ``l2-category`` spelled so, base64 images, a circular
pass naming its question's row in its image cell), and must read as the Hub copy's rows.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evalkit import load_run
from evalkit.compose.tasks import load_task
from evalkit.config import DatasetConfig, Source
from evalkit.dataset import describe_source, iter_items
from evalkit.dataset.features import has_column
from evalkit.dataset.releases import RELEASES, release_files
from evalkit.errors import ConfigError
from evalkit.resources import sample_data_dir

from ..conftest import main_in_process, results_of

CHARTQA = pd.read_parquet(sample_data_dir() / "chartqa" / "test.parquet")
MMBENCH = pd.read_parquet(sample_data_dir() / "mmbench_en" / "dev.parquet")
TSV_COLUMNS = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image",
               "source", "l2-category", "comment", "split"]  # fmt: skip
"""MMBench's TSV header, in its order."""


def chartqa_release(root: Path) -> tuple[Path, pd.DataFrame]:
    """The bundled ChartQA rows as ChartQA's release (root/test/...); and the rows in the order
    the release holds them: human first, then augmented."""
    folder = root / "test"
    (folder / "png").mkdir(parents=True)
    ordered = []
    for kind in ("human", "augmented"):
        rows = CHARTQA[CHARTQA["type"] == f"{kind}_test"]
        entries = []
        for position, row in rows.iterrows():
            name = f"chart_{position}.png"
            (folder / "png" / name).write_bytes(row["image"]["bytes"])
            entries.append({"imgname": name, "query": row["question"], "label": row["answer"]})
        (folder / f"test_{kind}.json").write_text(json.dumps(entries))
        ordered.append(rows)
    return root, pd.concat(ordered).reset_index(drop=True)


def mmbench_tsv(path: Path, frame: pd.DataFrame = MMBENCH) -> Path:
    """``frame`` as MMBench's TSV; a pass whose question's row comes first names that row."""
    seen: set[str] = set()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(TSV_COLUMNS)
        for _, row in frame.iterrows():
            index, base = str(row["index"]), str(int(row["index"]) % 1_000_000)
            image = base if base in seen else base64.b64encode(row["image"]["bytes"]).decode()
            seen.add(index)
            cells = {c: row.get("L2-category" if c == "l2-category" else c) for c in TSV_COLUMNS}
            cells["image"] = image
            writer.writerow(["" if _blank(v) else v for v in cells.values()])
    return path


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _rows(task: str, path: Path) -> list[dict[str, Any]]:
    spec = load_task(task)
    info = describe_source(spec, DatasetConfig(source=Source.local, path=str(path)))
    found = release_files(info.release, path, info.split)
    assert found is not None
    return [row for row, _ in found[0].rows(found[1]) if isinstance(row, dict)]


def test_chartqa_release_reads_as_the_hub_rows_human_first(tmp_path: Path) -> None:
    root, ordered = chartqa_release(tmp_path)
    spec = load_task("chartqa")
    for path in (root, root / "test"):  # the release root or its split's folder
        info = describe_source(spec, DatasetConfig(source=Source.local, path=str(path)))
        assert info.release == "chartqa-json"
        items = list(iter_items(spec, DatasetConfig(source=Source.local, path=str(path)), info))
        assert [i.error for i in items] == [None] * len(ordered)
        assert [i.sample_id for i in items] == [str(n) for n in range(len(ordered))]
        assert [i.sample.question for i in items if i.sample] == list(ordered["question"])
        assert [i.sample.references[0] for i in items if i.sample] == list(ordered["answer"])
        assert [i.sample.meta["type"] for i in items if i.sample] == list(ordered["type"])
        assert [i.sample.images[0].data for i in items if i.sample] == [
            x["bytes"] for x in ordered["image"]
        ]
    rows = _rows("chartqa", root)
    assert all(has_column(spec.dataset.features, column) for row in rows for column in row)
    one = describe_source(spec, DatasetConfig(source=Source.local,
                                              path=str(root / "test" / "test_augmented.json")))  # fmt: skip
    assert one.release == "chartqa-json"


def test_chartqa_release_scored_from_a_predictions_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The issue's line: task=chartqa dataset=local dataset.path=D backend=replay ... scores the
    file as a normal run; the png/ folder is not needed to replay answers."""
    root, ordered = chartqa_release(tmp_path / "ChartQA Dataset")
    preds = tmp_path / "preds.jsonl"
    wrong = {1, 30}
    preds.write_text("".join(
        json.dumps({"sample_id": str(n), "prediction": "?" if n in wrong else answer}) + "\n"
        for n, answer in enumerate(ordered["answer"])
    ))  # fmt: skip
    for png in (root / "test" / "png").iterdir():
        png.unlink()
    proc = main_in_process(capsys, tmp_path, "task=chartqa", "dataset=local",
                           f"dataset.path={root}", "backend=replay",
                           f"backend.predictions={preds}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run_dir = results_of(proc, tmp_path)
    run = load_run(run_dir)
    samples = run.samples.set_index("sample_id")
    assert samples["error"].isna().all() and len(samples) == len(ordered)
    assert samples["relaxed_accuracy"].sum() == len(ordered) - len(wrong)
    assert sorted(samples.index[samples["relaxed_accuracy"] == 0.0]) == ["1", "30"]
    dataset = json.loads((run_dir / "run.json").read_text())["dataset"]
    assert (dataset["source"], dataset["release"]) == ("local", "chartqa-json")
    assert run.summary is not None and set(run.summary["group"].dropna()) >= {"human_test"}


def test_chartqa_release_with_its_images_runs_a_live_backend(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, ordered = chartqa_release(tmp_path / "release")
    proc = main_in_process(capsys, tmp_path, "task=chartqa", "dataset=local",
                           f"dataset.path={root}", "dataset.limit=4")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    samples = load_run(results_of(proc, tmp_path)).samples
    assert samples["error"].isna().all() and samples["image_width"].notna().all()
    assert [r[0] for r in samples["references"]] == list(ordered["answer"][:4])


def test_mmbench_tsv_reads_as_the_hub_rows(tmp_path: Path) -> None:
    path = mmbench_tsv(tmp_path / "MMBench_DEV_EN.tsv")
    with path.open(encoding="utf-8") as handle:  # the passes name their question's row
        cells = [line.split("\t")[9] for line in handle][1:]
    assert sum(len(c) <= 64 for c in cells) > 0
    spec = load_task("mmbench_en")
    rows = _rows("mmbench_en", path)
    assert len(rows) == len(MMBENCH)
    for row, (_, hub) in zip(rows, MMBENCH.iterrows(), strict=True):
        for column in ("index", "question", "answer", "A", "B", "C", "D", "L2-category"):
            assert row[column] == ("" if _blank(hub[column]) else hub[column]), column
        assert row["image"]["bytes"] == hub["image"]["bytes"]
        assert all(has_column(spec.dataset.features, column) for column in row)


def test_mmbench_tsv_scores_as_the_hub_copy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The same questions from the TSV and from the bundled (Hub-schema) sample: one score."""
    path = mmbench_tsv(tmp_path / "MMBench_DEV_EN.tsv")
    proc = main_in_process(capsys, tmp_path, "task=mmbench_en", "dataset=local",
                           f"dataset.path={path}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from_tsv = load_run(results_of(proc, tmp_path))
    proc = main_in_process(capsys, tmp_path, "task=mmbench_en")
    assert proc.returncode == 0, proc.stderr
    bundled = load_run(results_of(proc, tmp_path))
    columns = ["sample_id", "prediction", "exact_match"]
    pd.testing.assert_frame_equal(from_tsv.samples[columns], bundled.samples[columns])
    assert from_tsv.summary is not None and bundled.summary is not None
    assert list(from_tsv.summary["value"]) == list(bundled.summary["value"])


def test_release_layout_errors_are_one_line(tmp_path: Path) -> None:
    spec = load_task("mmbench_en")
    bad = tmp_path / "bad.tsv"
    bad.write_text("index\tquestion\n1\tq\n")
    with pytest.raises(ConfigError, match=r"not MMBench's TSV layout, it lacks answer, image"):
        describe_source(spec, DatasetConfig(source=Source.local, path=str(bad)))
    root, _ = chartqa_release(tmp_path / "c")
    chartqa = load_task("chartqa")
    with pytest.raises(ConfigError, match=r"no val_human.json or val_augmented.json"):
        describe_source(chartqa, DatasetConfig(source=Source.local, path=str(root), split="val"))
    # a task without a release layout: a JSON list and a TSV are one line each, not error rows
    docvqa = load_task("docvqa")
    listed = root / "test" / "test_human.json"
    with pytest.raises(ConfigError, match=r"a JSON list, not JSON lines"):
        describe_source(docvqa, DatasetConfig(source=Source.local, path=str(listed)))
    with pytest.raises(ConfigError, match=r"expected a .parquet or .jsonl file in the task's"):
        describe_source(docvqa, DatasetConfig(source=Source.local, path=str(bad)))
    assert set(RELEASES.names()) == {"chartqa-json", "mathvista-json", "mmbench-tsv"}


def test_mmbench_tsv_bad_cells_are_error_rows(tmp_path: Path) -> None:
    frame = MMBENCH.head(3).copy()
    path = mmbench_tsv(tmp_path / "t.tsv", frame)
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[2].split("\t")
    cells[9] = "424242"  # names no row
    lines[2] = "\t".join(cells)
    cells = lines[3].split("\t")
    cells[9] = "!" * 80  # not base64
    lines[3] = "\t".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = load_task("mmbench_en")
    cfg = DatasetConfig(source=Source.local, path=str(path))
    items = list(iter_items(spec, cfg, describe_source(spec, cfg)))
    assert items[0].error is None
    assert items[1].error is not None and "image '424242' names no earlier row" in str(
        items[1].error
    )
    assert items[2].error is not None and "image is not base64" in str(items[2].error)


MATHVISTA = Path(__file__).parent.parent / "published" / "mathvista" / "data"


def test_mathvista_release_reads_problems_by_pid_with_their_prompts(tmp_path: Path) -> None:
    """MathVista's data/testmini.json (its own file, in tests/published) and data/query.json:
    options that are numbers keep the gold answer as the option's text; free-form rows have no
    options; the prompt is the Hub copy's query."""
    spec = load_task("mathvista")
    cfg = DatasetConfig(source=Source.local, path=str(MATHVISTA), limit=40)
    info = describe_source(spec, cfg)
    assert info.release == "mathvista-json"
    items = {i.sample_id: i for i in iter_items(spec, cfg, info, images=False)}
    assert list(items)[:3] == ["1", "2", "3"] and all(i.error is None for i in items.values())
    gold = json.loads((MATHVISTA / "testmini.json").read_text())
    queries = json.loads((MATHVISTA / "query.json").read_text())
    for pid, item in items.items():
        sample, problem = item.sample, gold[pid]
        assert sample is not None and sample.question == queries[pid]
        if problem["choices"]:
            letter = sample.references[0]
            assert sample.choices[ord(letter) - ord("A")] == problem["answer"]
        else:
            assert sample.choices == () and sample.references == (problem["answer"],)
    # an answer that is none of the options is a data error, not a guess; so is a problem
    # whose prompt is missing (no query.json beside it)
    assert gold["3"]["choices"]
    broken = {"3": {**gold["3"], "answer": "not an option", "query": queries["3"]},
              "4": gold["4"]}  # fmt: skip
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "testmini.json").write_text(json.dumps(broken))
    cfg = DatasetConfig(source=Source.local, path=str(folder))
    errors = [i.error for i in iter_items(spec, cfg, describe_source(spec, cfg), images=False)]
    assert "none of the options" in str(errors[0]) and "column 'query' is missing" in str(errors[1])
    with pytest.raises(ConfigError, match="no test.json for split 'test'"):
        RELEASES["mathvista-json"].files(folder, "test")
    (folder / "other.json").write_text(json.dumps(broken, indent=4))  # as the release writes it
    (folder / "testmini.json").unlink()
    with pytest.raises(ConfigError, match="other.json: one JSON object over several lines"):
        describe_source(spec, cfg)


def test_a_hub_schema_folder_with_other_json_is_not_a_release(tmp_path: Path) -> None:
    """A folder of Hub-schema parquet beside a multi-line JSON object (a dataset_info.json) is
    not taken for MathVista's release: the stray file is one line, and without it the folder
    reads as parquet."""
    spec = load_task("mathvista")
    folder = tmp_path / "hub"
    folder.mkdir()
    source = sample_data_dir() / "mathvista" / "testmini.parquet"
    (folder / "testmini.parquet").write_bytes(source.read_bytes())
    (folder / "dataset_info.json").write_text(json.dumps({"features": {"pid": "string"}}, indent=2))
    with pytest.raises(ConfigError, match="dataset_info.json: one JSON object over several"):
        describe_source(spec, DatasetConfig(source=Source.local, path=str(folder)))
    (folder / "dataset_info.json").unlink()
    info = describe_source(spec, DatasetConfig(source=Source.local, path=str(folder)))
    assert info.release is None
    items = list(iter_items(spec, DatasetConfig(source=Source.local, path=str(folder)), info))
    assert len(items) == 52 and all(i.error is None for i in items)
