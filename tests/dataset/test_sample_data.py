"""The bundled samples are in the real datasets' schemas, big enough, and reproducible."""

from __future__ import annotations

import importlib.util
import sys

import datasets
import numpy as np
import pandas as pd
import pytest

from evalkit.compose.tasks import load_task, task_names
from evalkit.resources import sample_data_dir

# column → dtype as on the lmms-lab dataset cards (shared/reference/datasets.md §1.1)
HF_COLUMNS = {
    "docvqa": {"questionId": "string", "question": "string", "question_types": "list<string>",
               "image": "Image", "docId": "int64", "ucsf_document_id": "string",
               "ucsf_document_page_no": "string", "answers": "list<string>",
               "data_split": "string"},
    "vqav2": {"question_type": "string", "multiple_choice_answer": "string",
              "answers": "list<struct>", "image_id": "int64", "answer_type": "string",
              "question_id": "int64", "question": "string", "image": "Image"},
    "textvqa": {"image_id": "string", "question_id": "int32", "question": "string",
                "question_tokens": "list<string>", "image": "Image", "image_width": "int32",
                "image_height": "int32", "flickr_original_url": "string",
                "flickr_300k_url": "string", "answers": "list<string>",
                "image_classes": "list<string>", "set_name": "string",
                "ocr_tokens": "list<string>"},
    "coco_caption": {"question_id": "string", "image": "Image", "question": "string",
                     "answer": "list<string>", "id": "int64", "license": "int8",
                     "file_name": "string", "coco_url": "string", "height": "int32",
                     "width": "int32", "date_captured": "string"},
    "refcoco": {"question_id": "string", "image": "Image", "question": "string",
                "answer": "list<string>", "segmentation": "list<float32>",
                "bbox": "list<float32>", "iscrowd": "int8", "file_name": "string"},
    "okvqa": {"question_id": "string", "image": "Image", "question": "string",
              "answers": "list<string>", "question_type": "string", "answer_type": "string"},
    "vizwiz": {"question_id": "string", "image": "Image", "question": "string",
               "answers": "list<string>", "category": "string"},
    "gqa": {"id": "string", "imageId": "string", "question": "string", "answer": "string",
            "fullAnswer": "string", "isBalanced": "bool", "groups": "struct",
            "entailed": "string", "equivalent": "string", "types": "struct",
            "semanticStr": "string"},
    "chartqa": {"type": "string", "question": "string", "answer": "string", "image": "Image"},
    "infovqa": {"questionId": "string", "question": "string", "answers": "list<string>",
                "answer_type": "list<string>", "image": "Image", "image_url": "string",
                "operation/reasoning": "list<string>", "ocr": "string", "data_split": "string"},
    "ocrvqa": {"image": "Image", "image_id": "string", "questions": "list<string>",
               "answers": "list<string>", "ocr_tokens": "list<string>", "ocr_info": "list<struct>",
               "title": "string", "authorName": "string", "genre": "string",
               "image_width": "int64", "image_height": "int64", "image_url": "string",
               "set_name": "string"},
    "nocaps": {"image": "Image", "image_coco_url": "string", "image_date_captured": "string",
               "image_file_name": "string", "image_height": "int32", "image_width": "int32",
               "image_id": "int32", "image_license": "int8", "image_open_images_id": "string",
               "annotations_ids": "list<int32>", "annotations_captions": "list<string>"},
    "chinese_ocr": {"image": "Image", "dataset_name": "string", "id": "int64",
                    "question": "string", "answers": "string", "type": "string"},
    "ai2d": {"question": "string", "options": "list<string>", "answer": "string",
             "image": "Image"},
    "scienceqa_img": {"image": "Image", "question": "string", "choices": "list<string>",
                      "answer": "int8", "hint": "string", "task": "string", "grade": "string",
                      "subject": "string", "topic": "string", "category": "string",
                      "skill": "string", "lecture": "string", "solution": "string"},
    "flickr30k": {"image": "Image", "caption": "list<string>", "sentids": "list<string>",
                  "img_id": "string", "filename": "string"},
}  # fmt: skip
HF_COLUMNS["refcoco_plus"] = HF_COLUMNS["refcocog"] = HF_COLUMNS["refcoco"]  # the same cards
HF_COLUMNS["refcocog_reg"] = HF_COLUMNS["refcocog"]  # region description reads RefCOCOg
_MMBENCH = {
    "question": "string",
    "hint": "string",
    "answer": "string",
    "A": "string",
    "B": "string",
    "C": "string",
    "D": "string",
    "category": "string",
    "image": "Image",
    "source": "string",
    "L2-category": "string",
    "comment": "string",
    "split": "string",
}
HF_COLUMNS["mmbench_cn"] = {"index": "int64", **_MMBENCH}  # lmms-lab/MMBench config cn
HF_COLUMNS["mmbench_en"] = {"index": "string", **_MMBENCH}  # config en: its index is a string
HF_COLUMNS["coco_caption_2014"] = HF_COLUMNS["coco_karpathy"] = HF_COLUMNS["coco_caption"]
GQA_IMAGES = {"id": "string", "image": "Image"}  # testdev_balanced_images


def _kind(feature: object) -> str:
    if isinstance(feature, dict):
        return "struct"
    if isinstance(feature, datasets.Image):
        return "Image"
    if isinstance(feature, datasets.Value):
        return feature.dtype
    inner = getattr(feature, "feature", None)
    if isinstance(feature, list):
        inner = feature[0]
    if isinstance(inner, dict):
        return "list<struct>"
    return f"list<{_kind(inner)}>"


@pytest.mark.parametrize("task", task_names())
def test_sample_split_has_the_hf_schema(task: str) -> None:
    spec = load_task(task)
    path = sample_data_dir() / task / f"{spec.dataset.split}.parquet"
    ds = datasets.Dataset.from_parquet(str(path))
    assert {name: _kind(f) for name, f in ds.features.items()} == HF_COLUMNS[task]
    assert len(ds) >= 50
    files = (sample_data_dir() / task).rglob("*.parquet")
    assert sum(f.stat().st_size for f in files) < 1_000_000


def test_gqa_images_are_their_own_configuration() -> None:
    images = datasets.Dataset.from_parquet(str(sample_data_dir() / "gqa/images/testdev.parquet"))
    assert {name: _kind(f) for name, f in images.features.items()} == GQA_IMAGES
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
    ("gqa", "testdev", lambda g: _benchmarks().build_gqa()[:2]),
    ("nocaps", "validation", lambda g: _benchmarks().build_nocaps()),
    ("ai2d", "test", lambda g: _benchmarks().build_ai2d()),
    ("scienceqa_img", "test", lambda g: _benchmarks().build_scienceqa()),
    ("mmbench_cn", "dev", lambda g: _benchmarks().build_mmbench(chinese=True)),
])  # fmt: skip
def test_generator_reproduces_the_committed_annotations(task: str, split: str, build) -> None:  # type: ignore[no-untyped-def]
    generator = _generator()
    try:
        rows, _ = build(generator)
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
