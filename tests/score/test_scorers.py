"""Scorer behaviour derived from the official definitions (hand-computed expectations)."""

from __future__ import annotations

import pytest

from evalkit.score import anls, caption_scores, iou, parse_box, relaxed_accuracy, vqa_accuracy
from evalkit.score.vqa import normalize_answer


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("yes", ["yes"] * 10, 1.0),
        ("no", ["yes"] * 10, 0.0),
        # k matches among 10: leave-one-out mean of min(1, m/3)
        ("2", ["2"] + ["3"] * 9, 0.3),
        ("2", ["2"] * 2 + ["3"] * 8, 0.6),
        ("2", ["2"] * 3 + ["3"] * 7, 0.9),
        ("2", ["2"] * 4 + ["3"] * 6, 1.0),
        ("Two", ["2"] * 3 + ["3"] * 7, 0.9),  # number words
        ("the dog.", ["dog"] * 10, 1.0),  # articles and final period
        ("Dont", ["don't"] * 10, 1.0),  # contractions table after punctuation
        ("1,000", ["1000"] * 10, 1.0),  # digit,digit comma vanishes
        ("red", ["red", "red", "blue"], 4 / 9),  # 3 answers: (1/3 + 1/3 + 2/3) / 3
    ],
)
def test_vqa_accuracy(prediction: str, answers: list[str], expected: float) -> None:
    assert vqa_accuracy(prediction=prediction, answers=answers) == pytest.approx(
        expected, abs=1e-12
    )


def test_vqa_punctuation_rules() -> None:
    assert normalize_answer("black/white") == "black white"  # no space around: becomes a space
    assert normalize_answer("black / white") == "black white"
    assert normalize_answer("3.5") == "3.5"  # a period between digits stays
    assert normalize_answer("a,b 1,0") == "ab 10"  # one digit,digit comma: others vanish too
    assert normalize_answer("what's", "textvqa") == "what 's"


def test_vqa_accuracy_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        vqa_accuracy("yes", ["yes"])  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown VQA mode"):
        vqa_accuracy(prediction="a", answers=["a"], mode="nope")


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("Tower", ["tower"], 1.0),
        ("  the   tower ", ["the tower"], 1.0),  # normalised distance 0
        ("abcd", ["abce"], 0.75),
        ("ab", ["cd", "ab"], 1.0),  # max over gold answers
        ("abcx", ["abcd", "zzzz"], 0.75),
        ("ab", ["abcd"], 0.5),  # exactly tau is kept
        ("a", ["abc"], 0.0),  # 1/3 < 0.5
        ("", ["abc"], 0.0),
        ("", [""], 1.0),
    ],
)
def test_anls(prediction: str, answers: list[str], expected: float) -> None:
    assert anls(prediction=prediction, answers=answers) == pytest.approx(expected, abs=1e-12)


def test_anls_length_uses_the_raw_strings() -> None:
    # distance on stripped strings is 0 -> 1.0 regardless of the raw length
    assert anls(prediction="  abc  ", answers=["abc"]) == 1.0
    # 'ab' vs 'abcd' with two trailing spaces on the prediction: distance 2, raw length 4 -> 0.5
    assert anls(prediction="ab  ", answers=["abcd"]) == 0.5


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("10.4", ["10"], 1.0),
        ("10.6", ["10"], 0.0),
        ("52%", ["0.53"], 1.0),
        ("0", ["0"], 1.0),
        ("0.01", ["0"], 0.0),  # zero gold: string comparison
        ("Yes", ["yes"], 1.0),
        ("no", ["yes", "no"], 1.0),
    ],
)
def test_relaxed_accuracy(prediction: str, answers: list[str], expected: float) -> None:
    assert relaxed_accuracy(prediction=prediction, answers=answers) == expected


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        (
            "<ref>cat</ref><box>(100,200),(300,400)</box>",
            "qwen-vl",
            (100 / 999 * 640, 200 / 999 * 480, 300 / 999 * 640, 400 / 999 * 480),
        ),
        ("(100,200),(300,400)</box>", "qwen-vl:1000", (64.0, 96.0, 192.0, 192.0)),
        ("<box>(300, 400), (100, 200)</box>", "qwen-vl-lenient:1000", (64.0, 96.0, 192.0, 192.0)),
        ("<box>(300, 400), (100, 200)</box>", "qwen-vl:1000", None),  # the reference: no match
        ("<|box_start|>(0,0),(500,500)<|box_end|>", "qwen2-vl", (0.0, 0.0, 320.0, 240.0)),
        (
            '```json\n[{"bbox_2d": [0, 0, 644, 476], "label": "x"}]\n```',
            "qwen2.5-vl",
            (0.0, 0.0, 640.0, 480.0),
        ),
        ("[0.1, 0.2, 0.5, 0.6] and [0, 0, 1, 1]", "normalized", (64.0, 96.0, 320.0, 288.0)),
        ("[1.5, 0, 2, 1]", "normalized", None),  # out of range
        ("box: [10, 20, 30, 40]", "pixel", (10.0, 20.0, 30.0, 40.0)),
        ("I cannot see it", "qwen-vl", None),
        ("(1200,0),(1300,10)", "qwen-vl-lenient", None),  # off the grid
        (
            "(1200,0),(1300,10)",
            "qwen-vl",
            (1200 / 999 * 640, 0.0, 1300 / 999 * 640, 10 / 999 * 480),
        ),
    ],
)
def test_parse_box(text: str, fmt: str, expected: tuple[float, ...] | None) -> None:
    box = parse_box(text=text, fmt=fmt, width=640, height=480)
    if expected is None:
        assert box is None
    else:
        assert box == pytest.approx(expected, abs=1e-9)


def test_iou() -> None:
    assert iou(a=(0, 0, 10, 10), b=(0, 0, 10, 10)) == 1.0
    assert iou(a=(0, 0, 10, 10), b=(10, 10, 20, 20)) == 0.0
    assert iou(a=(0, 0, 10, 10), b=(0, 0, 5, 10)) == 0.5
    assert iou(a=(0, 0, 0, 0), b=(0, 0, 0, 0)) == 0.0  # zero union is a miss


def test_caption_scores_match_pycocoevalcap(reference_meteor) -> None:  # type: ignore[no-untyped-def]
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    refs = {
        "1": [
            "A man riding a horse on a beach.",
            "A person rides a brown horse.",
            "Horse and rider by the sea.",
        ],
        "2": [
            "Two dogs play with a red ball.",
            "Dogs playing in the grass.",
            "Two puppies chase a ball.",
        ],
        "3": [
            "A plate of pasta with tomato sauce.",
            "Spaghetti on a white plate.",
            "A bowl of noodles.",
        ],
    }
    preds = {"1": "a man rides a horse on the beach", "2": "two dogs playing with a ball",
             "3": "a plate of spaghetti"}  # fmt: skip
    ours = caption_scores(predictions=preds, references=refs)
    tok = PTBTokenizer()
    gts = tok.tokenize({k: [{"caption": c} for c in v] for k, v in refs.items()})
    res = tok.tokenize({k: [{"caption": v}] for k, v in preds.items()})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    expected = {f"Bleu_{n + 1}": bleu[n] for n in range(4)}
    expected["METEOR"] = reference_meteor.compute_score(gts, res)[0]  # pycocoevalcap's
    expected["ROUGE_L"] = Rouge().compute_score(gts, res)[0]
    expected["CIDEr"] = Cider().compute_score(gts, res)[0]
    assert set(ours) == set(expected)
    for metric, value in expected.items():
        assert ours[metric] == pytest.approx(float(value), abs=1e-9), metric
    assert ours["CIDEr"] > 0.5


def test_caption_line_separators_do_not_shift_other_images() -> None:
    refs = {"a": ["a red ball"], "b": ["a blue cube"], "c": ["a green cone"]}
    clean = caption_scores(predictions={"a": "a red ball", "b": "a blue cube", "c": "a green cone"},
                           references=refs)  # fmt: skip
    dirty = caption_scores(
        predictions={"a": "a red\rball", "b": "a blue\u2028cube", "c": "a green cone"},
        references=refs,
    )
    assert dirty == pytest.approx(clean, abs=1e-12)


def test_caption_intervals_and_pooled_bleu() -> None:
    import numpy as np

    from bench.corpus import captions
    from evalkit.score.captions import (
        _bleu,
        _bleu_from_sums,
        _tokenize_groups,
        caption_scores_per_image,
    )

    preds, refs = captions(60, seed=4)
    result = caption_scores_per_image(predictions=preds, references=refs, resamples=200, seed=1)
    for metric, (low, high) in result.intervals.items():
        assert low <= high, metric
        assert low - 1e-9 <= result.corpus[metric] <= high + 1e-9 or metric.startswith("Bleu")
    ids = list(refs)
    gts = _tokenize_groups(refs)
    res = _tokenize_groups({k: [v] for k, v in preds.items()})
    score, _, stats = _bleu(gts, res, ids)
    pooled = _bleu_from_sums(stats.sum(axis=0, keepdims=True))[0]
    assert np.allclose(pooled, score, atol=1e-12, rtol=0)


def test_caption_tokenisation_follows_the_given_order() -> None:
    # The PTB tokenizer reads "a." at a line's end in the light of the next line, so the order
    # of the mapping matters, as it does for pycocoevalcap; evalkit follows the caller's order.
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    refs = {
        "x": ["Dogs near a.", "Two dogs."],
        "y": ["Near a.", "Cats sit."],
        "z": ["Red car.", "A car."],
    }
    preds = {"x": "dogs near a", "y": "cats near a.", "z": "a red car"}
    tok = PTBTokenizer()
    gts = tok.tokenize({k: [{"caption": c} for c in v] for k, v in refs.items()})
    res = tok.tokenize({k: [{"caption": v}] for k, v in preds.items()})
    expected = Cider().compute_score(gts, res)[0]
    assert caption_scores(predictions=preds, references=refs)["CIDEr"] == pytest.approx(
        expected, abs=1e-9
    )


def test_pooled_meteor_statistics_give_the_corpus_meteor() -> None:
    # METEOR adds no chunks for a segment matched whole in one chunk; the resampled statistics
    # must add up the same way, or the interval is centred away from the score (it was).
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from evalkit.score.captions import _METEOR, _score_side, _tokenize_groups

    refs = {
        "a": ["a red ball on the grass"],
        "b": ["two dogs run on a beach", "dogs running"],
        "c": ["a man reads a book"],
        "d": ["a cat sleeps"],
    }
    preds = {
        "a": "a red ball on the grass",
        "b": "a dog on sand",
        "c": "a man reads a book",
        "d": "the cat is asleep on a sofa",
    }
    ids = list(refs)
    with _METEOR.session() as meteor, ThreadPoolExecutor(max_workers=2) as pool:
        side = _score_side(
            _tokenize_groups(refs),
            _tokenize_groups({k: [v] for k, v in preds.items()}),
            ids,
            meteor,
            pool,
        )
        pooled = side.pooled(np.ones((1, len(ids))), meteor)
    for metric in ("METEOR", "ROUGE_L", "CIDEr", "Bleu_4"):
        assert pooled[metric][0] == pytest.approx(side.scores.corpus[metric], abs=1e-9), metric


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        # evaluate_grounding.py scores the box as written: off the grid, (0,0)-(768.8,480) here
        ("(0,0),(1200,999)", "qwen-vl", 640 / (1200 / 999 * 640)),
        ("(0,0),(1200,999)", "qwen-vl-lenient", 0.0),  # refused: off the grid
        # swapped corners: torchvision's box_iou finds no intersection, IoU 0
        ("(999,999),(0,0)", "qwen-vl", 0.0),
        ("(999,999),(0,0)", "qwen-vl-lenient", 1.0),
        ("<box>(0, 0), (999, 999)</box>", "qwen-vl", 0.0),  # no match: the reference's zeros
    ],
)
def test_grounding_iou_follows_the_reference_reading(text: str, fmt: str, expected: float) -> None:
    box = parse_box(text=text, fmt=fmt, width=640, height=480)
    value = 0.0 if box is None else iou(a=box, b=(0.0, 0.0, 640.0, 480.0))
    assert value == pytest.approx(expected, abs=1e-12)
