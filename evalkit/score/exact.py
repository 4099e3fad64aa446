"""Exact-match accuracy, in the variants the official scripts use (each a named mode).

* ``qwen-vl``: Qwen-VL ``eval_mm/evaluate_vqa.py``'s ``evaluate_exact_match_accuracy`` (GQA,
  OCR-VQA, AI2D): prediction and each gold answer stripped and lower-cased, equal to any.
* ``qwen-vl-gqa``: the same after the script's GQA clean-up of the prediction (:func:`gqa_answer`).
* ``lmms-eval``: lmms-eval's ``exact_match`` with ``ignore_case`` and ``ignore_punctuation`` (its
  GQA and AI2D tasks): both sides lower-cased and stripped of ASCII punctuation, then compared as
  they are (no whitespace is trimmed; the pipeline has already stripped the completion).
* ``strict``: the prediction equals a gold answer exactly (a parsed option letter).
* ``ocrbench``: OCRBench's rule (Yuliang-Liu/MultimodalOCR ``OCRBench/scripts/qwenvl.py`` at
  f5cbec66817b643f732f11cdc7b3a550963b70dc, every dataset but HME100k): right when a gold
  answer, lower-cased, stripped and with newlines made spaces, is *contained* in the prediction
  treated alike. Not an equality: "禾不锈钢" in "店名是禾不锈钢。" counts.
* ``ocrbench-hme``: the same script's rule for HME100k (handwritten formulas): every space
  removed from both sides, the case kept (lmms-eval lower-cases the prediction first, so an
  upper-case formula never matches there).
* ``mmstar``: MMStar's rule (``eval/vlmeval/evaluate/mmstar.py`` of MMStar-Benchmark/MMStar at
  79e6d1cbab00576162fc8c878a4ad584f98b4868): the gold letter is the reply's first character,
  or comes right after a leading ``(``, ``option `` or ``the answer is `` (lower-cased).
* ``seedbench``: lmms-eval's SEED-Bench rule (``seed_process_result``, lmms_eval/tasks/seedbench/
  utils.py at 07725bd5de2fc8aed32956efe660a7e996e39ce5): the stripped reply's first character,
  its case kept, equals the gold letter. SEED-Bench's own ``eval.py`` (AILab-CVC/SEED-Bench at
  991e849b) compares a letter with the gold one, which a one-letter reply meets alike.
* ``llava-sqa``: lmms-eval's ScienceQA rule (``sqa_process_results``, "how llava parses it"):
  right when the prediction is the gold letter, or starts with an upper-case letter and a
  period and that letter is the gold one; nothing is normalised.

Read at QwenLM/Qwen-VL cfe66a7cc5df6ca8bff95c2b8b02bc0a1cbdc72c and EvolvingLMMs-Lab/lmms-eval
(``lmms_eval/api/metrics.py::exact_match_hf_evaluate``, ported from Hugging Face evaluate).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence

__all__ = ["EXACT_MODES", "exact_match", "gqa_answer", "mmstar_choice", "ocrbench_hme",
           "seedbench_choice"]  # fmt: skip

_PUNCTUATION = str.maketrans("", "", string.punctuation)


def gqa_answer(response: str) -> str:
    """Qwen-VL's GQA clean-up, step by step as ``evaluate_vqa.py`` writes it.

    The text before the first ``.``, ``,`` or ``!``, lower-cased; then, for each of ``is ``,
    ``are ``, ``a ``, ``an ``, ``the `` found in it, the piece *between* its first and second
    occurrence (``split(sep)[1]``, not the rest); then the text before the first `` of``.

    >>> gqa_answer("The bag is black.")
    'black'
    >>> gqa_answer("It is a piece of cake")
    'piece'
    >>> gqa_answer("this is it")  # 'this ' holds 'is ': split('is ') gives ['th', '', 'it']
    ''
    """
    text = response.strip().split(".")[0].split(",")[0].split("!")[0].lower()
    for word in ("is ", "are ", "a ", "an ", "the "):
        if word in text:
            text = text.split(word)[1]
    if " of" in text:
        text = text.split(" of")[0]
    return text.strip()


def _qwen(prediction: str, answers: Sequence[str]) -> bool:
    pred = prediction.strip().lower()
    return any(pred == a.strip().lower() for a in answers)


def _qwen_gqa(prediction: str, answers: Sequence[str]) -> bool:
    return _qwen(gqa_answer(prediction), answers)


def _llava_sqa(prediction: str, answers: Sequence[str]) -> bool:
    lettered = len(prediction) >= 2 and prediction[0].isupper() and prediction[1] == "."
    return any(prediction == t or (lettered and prediction[0] == t) for t in answers)


def _lowered(text: str) -> str:
    """OCRBench's and MMStar's normalisation: lower-cased, stripped, newlines as spaces."""
    return text.lower().strip().replace("\n", " ")


def _ocrbench(prediction: str, answers: Sequence[str]) -> bool:
    return any(_lowered(a) in _lowered(prediction) for a in answers)


def ocrbench_hme(prediction: str, answers: Sequence[str]) -> bool:
    """OCRBench's rule for HME100k (handwritten formulas): every space removed, case kept.

    >>> ocrbench_hme("The formula is x ^ { 2 } + 1", ["x^{2}+1"]), ocrbench_hme("X^2", ["x^2"])
    (True, False)
    """

    def norm(text: str) -> str:
        return text.strip().replace("\n", " ").replace(" ", "")

    return any(norm(a) in norm(prediction) for a in answers)


def mmstar_choice(prediction: str, answers: Sequence[str]) -> bool:
    """MMStar's rule: the gold letter starts the reply (lower-cased, stripped).

    It may also come right after a leading ``(``, ``option `` or ``the answer is ``.

    >>> [mmstar_choice(p, ["B"]) for p in ("B", "b. cat", "(B)", "Option B", "The answer is B",
    ...                                    "I think B", "")]
    [True, True, True, True, True, False, False]
    """
    predict = _lowered(prediction)
    for gold in map(_lowered, answers):
        if not predict:
            continue
        if gold == predict[0] or (predict[0] == "(" and gold == predict[1:2]):
            return True
        if (predict[0:7] == "option " and gold == predict[7:8]) or (
            predict[0:14] == "the answer is " and gold == predict[14:15]
        ):
            return True
    return False


def seedbench_choice(prediction: str, answers: Sequence[str]) -> bool:
    """lmms-eval's SEED-Bench rule: the reply's first character (stripped) is the gold letter.

    >>> [seedbench_choice(p, ["B"]) for p in ("B", " B. two", "b", "(B)", "Two", "")]
    [True, True, False, False, False, False]
    """
    first = prediction.strip()[:1]
    return bool(first) and first in answers


def _lmms(prediction: str, answers: Sequence[str]) -> bool:
    pred = prediction.lower().translate(_PUNCTUATION)
    return any(pred == a.lower().translate(_PUNCTUATION) for a in answers)


EXACT_MODES: dict[str, Callable[[str, Sequence[str]], bool]] = {
    "qwen-vl": _qwen,
    "qwen-vl-gqa": _qwen_gqa,
    "lmms-eval": _lmms,
    "llava-sqa": _llava_sqa,
    "strict": lambda prediction, answers: prediction in answers,
    "ocrbench": _ocrbench,
    "ocrbench-hme": ocrbench_hme,
    "mmstar": mmstar_choice,
    "seedbench": seedbench_choice,
}
"""Mode name → ``(prediction, gold answers) -> correct``."""


def exact_match(*, prediction: str, answers: Sequence[str], mode: str = "qwen-vl") -> float:
    """1.0 when the prediction equals a gold answer under ``mode``'s normalisation, else 0.0.

    >>> exact_match(prediction=" Yes ", answers=["yes"])
    1.0
    >>> exact_match(prediction="yes.", answers=["yes"]), exact_match(
    ...     prediction="yes.", answers=["yes"], mode="lmms-eval")
    (0.0, 1.0)
    """
    if not answers:
        raise ValueError("exact_match needs at least one gold answer")
    try:
        rule = EXACT_MODES[mode]
    except KeyError:
        raise ValueError(
            f"unknown exact-match mode '{mode}' (known: {', '.join(EXACT_MODES)})"
        ) from None
    return float(rule(prediction, answers))
