"""The bundled samples are in the real datasets' schemas, big enough, and reproducible."""

from __future__ import annotations

import importlib.util
import sys

import datasets
import numpy as np
import pandas as pd
import pytest

from evalkit.compose.tasks import load_task, task_names
from evalkit.dataset.features import hub_features, short_form
from evalkit.resources import sample_data_dir


@pytest.mark.parametrize("task", task_names())
def test_sample_splits_have_the_schema_the_task_declares(task: str) -> None:
    """Every bundled split is in the Hub schema its YAML declares (``dataset.features``)."""
    data = load_task(task).dataset
    assert data.features, "a bundled task declares its Hub copy's schema"
    folder = sample_data_dir() / task
    splits = sorted(folder.glob("*.parquet"))
    assert folder / f"{data.split}.parquet" in splits
    for path in splits:
        ds = datasets.Dataset.from_parquet(str(path))
        assert short_form(ds.features) == data.features, path.name  # names, types and order
        assert list(ds.features) == list(data.features)
        assert len(ds) >= 15
    assert len(datasets.Dataset.from_parquet(str(folder / f"{data.split}.parquet"))) >= 50
    files = folder.rglob("*.parquet")
    assert sum(f.stat().st_size for f in files) < 1_000_000


def test_gqa_images_are_their_own_configuration() -> None:
    data = load_task("gqa").dataset
    assert data.images is not None
    images = datasets.Dataset.from_parquet(str(sample_data_dir() / "gqa/images/testdev.parquet"))
    assert images.features == hub_features(data.images.features)
    questions = pd.read_parquet(sample_data_dir() / "gqa" / "testdev.parquet")
    assert set(questions["imageId"]) == set(images["id"])  # every question's image is there
    assert questions["types"].map(lambda t: t["structural"]).nunique() >= 3


def test_documents_and_questions_include_chinese() -> None:
    docs = pd.read_parquet(sample_data_dir() / "docvqa" / "validation.parquet")
    assert docs["question"].str.contains(r"[\u4e00-\u9fff]").any()
    assert docs["answers"].map(lambda a: len(a) > 1).mean() > 0.4  # several gold answers
    signs = pd.read_parquet(sample_data_dir() / "textvqa" / "validation.parquet")
    assert signs["question"].str.contains(r"[\u4e00-\u9fff]").any()
    assert signs["answers"].map(len).eq(10).all()


def _generator():  # type: ignore[no-untyped-def]
    path = sample_data_dir().parent.parent / "scripts" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module
    spec.loader.exec_module(module)
    return module


def _benchmarks():  # type: ignore[no-untyped-def]
    _generator()  # make_benchmark_samples imports make_samples
    path = sample_data_dir().parent.parent / "scripts" / "make_benchmark_samples.py"
    spec = importlib.util.spec_from_file_location("make_benchmark_samples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("task", "split", "build"), [
    ("vqav2", "validation", lambda g: g.build_vqav2()),
    ("coco_caption", "val", lambda g: g.build_coco_caption()),
    ("refcoco", "val", lambda g: g.build_refcoco("val", 51, seed=3)),
    ("refcoco_plus", "testA", lambda g: g.build_refcoco("testA", 15, seed=12, task="refcoco_plus",
                                                        exprs=g.expressions_plus)),
    ("refcocog", "val", lambda g: g.build_refcoco("val", 51, seed=21, task="refcocog",
                                                  exprs=g.expressions_g)),
    ("vizwiz", "val", lambda g: _benchmarks().build_vizwiz()),
    ("chartqa", "test", lambda g: _benchmarks().build_chartqa()),
    ("ocrvqa", "test", lambda g: _benchmarks().build_ocrvqa()),
    ("gqa", "testdev", lambda g: _benchmarks().build_gqa()[0]),
    ("nocaps", "validation", lambda g: _benchmarks().build_nocaps()),
    ("ai2d", "test", lambda g: _benchmarks().build_ai2d()),
    ("scienceqa_img", "test", lambda g: _benchmarks().build_scienceqa()),
    ("mathvista", "testmini", lambda g: _benchmarks().build_mathvista()),
    ("mmbench_cn", "dev", lambda g: _benchmarks().build_mmbench(chinese=True)),
])  # fmt: skip
def test_generator_reproduces_the_committed_annotations(task: str, split: str, build) -> None:  # type: ignore[no-untyped-def]
    generator = _generator()
    try:
        rows = build(generator)
    except SystemExit as missing:  # a font the pictures are drawn with is not installed
        pytest.skip(str(missing.code))  # names the font and the apt-get line that brings it
    committed = pd.read_parquet(sample_data_dir() / task / f"{split}.parquet")
    fresh = pd.DataFrame(rows).drop(columns="image", errors="ignore")
    committed = committed.drop(columns="image", errors="ignore")
    assert list(fresh.columns) == list(committed.columns)
    for column in fresh.columns:
        assert [_plain(v) for v in fresh[column]] == [_plain(v) for v in committed[column]], column


def _plain(value: object) -> object:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        if value != value:  # NaN: an empty cell, as None reads back
            return None
        return float(np.float32(value))  # the committed files store float32
    return value
