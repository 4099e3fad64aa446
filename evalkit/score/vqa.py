"""VQA accuracy: ``min(1, matches / 3)`` averaged over leave-one-out subsets of the gold answers.

With the usual ten answers a prediction matching 0, 1, 2, 3 or 4+ of them scores 0, 0.3, 0.6,
0.9 or 1.0. The gold answers are left out by position, as the official scripts do (each answer
dict there has its own ``answer_id``), so any number of answers works.

Normalisation modes, each a named copy of a real script (the run records which was used):

``standard`` (default)
    The EvalAI answer processor's steps applied to the prediction *and* every gold answer,
    always: newline/tab → space, strip, ``process_punctuation`` (a digit,digit comma anywhere
    makes the other punctuation vanish instead of becoming spaces; at most 32 periods are
    stripped, because the scripts pass ``re.UNICODE`` as ``sub``'s count) and
    ``process_digit_article`` (lowercase, number words → digits with none → 0, a/an/the dropped,
    the contractions table). What the EvalAI-era harnesses (lmms-eval, ...) compute.
``gt-vision-lab-2021``
    GT-Vision-Lab's ``vqaEval.py`` at a013f0043c1e2cdc995922dfe257f7149aa9af06: everything is
    stripped, but the punctuation and digit/article steps run on prediction and gold answers
    only when the gold answers are not unanimous (so "Yes" against ten "yes" scores 0). Its
    contractions table is the EvalAI one, straight apostrophes ("dont" becomes "don't"), and
    its digit-comma test is a digit, a comma, a digit.
``qwen-vl``
    The 2016 copy Qwen-VL's ``eval_mm/vqa_eval.py`` uses: the prediction is always normalised;
    the gold answers get punctuation processing only, and only when not unanimous.
``textvqa``
    The EvalAI processor as the TextVQA evaluator calls it: lowercase, delete ``,`` and ``?``,
    ``'s`` → `` 's``, then the ``standard`` steps, on prediction and gold answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from evalkit.parse.punctuation import GT_VISION_COMMA, process_punctuation

__all__ = ["VQA_MODES", "normalize_answer", "vqa_accuracy"]

_TABLES = json.loads((Path(__file__).parent / "data" / "vqa_contractions.json").read_text("utf-8"))
_NUMBERS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = frozenset({"a", "an", "the"})


class _Processor:
    """processPunctuation + processDigitArticle with one script's regex and table.

    Normalised strings are memoised: answers repeat heavily ("yes", "2", ...), and the cache is
    what lets a 200k-question run score in about a second.
    """

    def __init__(self, comma_strip: str, contractions: dict[str, str]) -> None:
        self.comma_strip = re.compile(comma_strip)
        self.contractions = contractions
        self.full = lru_cache(maxsize=1 << 16)(self._full)
        self.clean_full = lru_cache(maxsize=1 << 16)(self._clean_full)

    def punctuation(self, text: str) -> str:
        return process_punctuation(text, self.comma_strip)

    def digit_article(self, text: str) -> str:
        words = [_NUMBERS.get(w, w) for w in text.lower().split()]
        return " ".join(self.contractions.get(w, w) for w in words if w not in _ARTICLES)

    def _full(self, text: str) -> str:
        return self.digit_article(self.punctuation(text))

    def _clean_full(self, text: str) -> str:
        return self._full(_clean(text))


_EVALAI = _Processor(r"(?<=\d)(\,)+(?=\d)", _TABLES["evalai"])
_GT_VISION = _Processor(GT_VISION_COMMA.pattern, _TABLES["evalai"])  # a013f00: the same table
_LAVIS = _Processor(r"(\d)(,)(\d)", _TABLES["evalai"])


def _clean(text: str) -> str:
    return text.replace("\n", " ").replace("\t", " ").strip()


@lru_cache(maxsize=1 << 16)
def _textvqa_text(text: str) -> str:
    text = text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    return _EVALAI.clean_full(text)


def _standard(prediction: str, answers: Sequence[str]) -> tuple[str, list[str]]:
    return _EVALAI.clean_full(prediction), [_EVALAI.clean_full(a) for a in answers]


def _textvqa(prediction: str, answers: Sequence[str]) -> tuple[str, list[str]]:
    return _textvqa_text(prediction), [_textvqa_text(a) for a in answers]


def _gt_vision_2021(prediction: str, answers: Sequence[str]) -> tuple[str, list[str]]:
    pred, gold = _clean(prediction), [_clean(a) for a in answers]
    if len(set(gold)) > 1:
        pred, gold = _GT_VISION.full(pred), [_GT_VISION.full(a) for a in gold]
    return pred, gold


def _qwen_vl(prediction: str, answers: Sequence[str]) -> tuple[str, list[str]]:
    pred = _LAVIS.clean_full(prediction)
    gold = list(answers)
    if len(set(gold)) > 1:
        gold = [_LAVIS.punctuation(a) for a in gold]
    return pred, gold


VQA_MODES: dict[str, Callable[[str, Sequence[str]], tuple[str, list[str]]]] = {
    "standard": _standard,
    "gt-vision-lab-2021": _gt_vision_2021,
    "qwen-vl": _qwen_vl,
    "textvqa": _textvqa,
}
"""Mode name → ``(prediction, answers) -> (compared prediction, compared answers)``."""


def normalize_answer(text: str, mode: str = "standard") -> str:
    """How a mode normalises an answer that is compared after normalisation.

    >>> normalize_answer("Two dogs.")
    '2 dogs'
    >>> normalize_answer("What's that?", "textvqa")
    "what 's that"
    """
    return _mode(mode)(text, [text, ""])[0]


def _mode(mode: str) -> Callable[[str, Sequence[str]], tuple[str, list[str]]]:
    try:
        return VQA_MODES[mode]
    except KeyError:
        raise ValueError(f"unknown VQA mode '{mode}' (known: {', '.join(VQA_MODES)})") from None


def vqa_accuracy(*, prediction: str, answers: Sequence[str], mode: str = "standard") -> float:
    """VQA accuracy of one prediction against the human answers (usually 10).

    >>> vqa_accuracy(prediction="Two", answers=["2"] * 3 + ["3"] * 7)
    0.9
    >>> vqa_accuracy(prediction="Yes", answers=["yes"] * 10, mode="gt-vision-lab-2021")
    0.0
    """
    if not answers:
        raise ValueError("vqa_accuracy needs at least one gold answer")
    pred, gold = _mode(mode)(prediction, answers)
    matches = sum(g == pred for g in gold)
    # Leaving out one answer removes one match when that answer is itself a match.
    total = sum(min(1.0, (matches - (g == pred)) / 3.0) for g in gold)
    return total / len(gold)
