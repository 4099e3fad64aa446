"""Scoring throughput: evalkit's scorers against the reference implementations they match.

* VQA accuracy on 200k predictions and ANLS on 50k (goal: >= 100k predictions/s each);
* caption scores on 5k images x 5 references against pycocoevalcap called directly
  (PTBTokenizer twice, then Bleu, Meteor, Rouge, Cider one after another), with identical results.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from typing import Any

from bench.corpus import captions, short_answers
from evalkit.score import anls, vqa_accuracy
from evalkit.score.captions import caption_scores_per_image


def _direct_pycocoevalcap(preds: dict[str, str], refs: dict[str, list[str]]) -> dict[str, float]:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    gts = tok.tokenize({k: [{"caption": c} for c in v] for k, v in refs.items()})
    res = tok.tokenize({k: [{"caption": v}] for k, v in preds.items()})
    out: dict[str, float] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        bleu, _ = Bleu(4).compute_score(gts, res)
        out.update({f"Bleu_{n + 1}": bleu[n] for n in range(4)})
        out["METEOR"] = Meteor().compute_score(gts, res)[0]
        out["ROUGE_L"] = float(Rouge().compute_score(gts, res)[0])
        out["CIDEr"] = float(Cider().compute_score(gts, res)[0])
    return out


def _per_second(
    name: str, score: Callable[..., float], cases: list[tuple[str, list[str]]]
) -> dict[str, Any]:
    start = time.perf_counter()
    for prediction, answers in cases:
        score(prediction=prediction, answers=answers)
    elapsed = time.perf_counter() - start
    rate = len(cases) / elapsed
    return {"bench": f"{name} x{len(cases):,}", "evalkit_s": elapsed, "throughput": f"{rate:,.0f}/s",
            "goal": ">= 100,000/s", "ratio": rate / 100_000}  # fmt: skip


def run(quick: bool = False) -> list[dict[str, Any]]:
    n_vqa, n_anls, n_img = (20_000, 5_000, 500) if quick else (200_000, 50_000, 5_000)
    rows = [
        _per_second("vqa_accuracy", vqa_accuracy, short_answers(n_vqa)),
        _per_second("anls", anls, [(p, a[:3]) for p, a in short_answers(n_anls, seed=1)]),
    ]
    preds, refs = captions(n_img)
    start = time.perf_counter()
    ours = caption_scores_per_image(predictions=preds, references=refs).corpus
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    direct = _direct_pycocoevalcap(preds, refs)
    direct_s = time.perf_counter() - start
    same = all(abs(ours[k] - direct[k]) <= 1e-9 for k in direct)
    rows.append({"bench": f"caption_scores {n_img:,} img x5 refs", "evalkit_s": ours_s,
                 "throughput": f"pycocoevalcap {direct_s:.1f}s, identical={same}",
                 "goal": ">= 3x pycocoevalcap", "ratio": direct_s / ours_s})  # fmt: skip
    return rows
