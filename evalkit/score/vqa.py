"""VQA accuracy: min(1, matches / 3) averaged over the leave-one-out subsets of the gold answers.

Normalisation modes (the run records which one it used):

``standard``
    The EvalAI answer processor's punctuation and digit/article steps, applied to the prediction
    and to every gold answer, always (what lmms-eval and other EvalAI-era harnesses compute).
``textvqa``
    The EvalAI processor as used for TextVQA: lowercase, delete ``,`` and ``?``, ``'s`` → `` 's``,
    then the ``standard`` steps.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

__all__ = ["VQA_MODES", "normalize_answer", "vqa_accuracy"]

_CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've", "somebody'd": "somebodyd",
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
    "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}  # fmt: skip
_NUMBERS = {
    "none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip
_ARTICLES = frozenset({"a", "an", "the"})
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@",
          "`", ",", "?", "!")  # fmt: skip
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
_COMMA_STRIP = re.compile(r"(?<=\d)(\,)+(?=\d)")


def _punctuation(text: str) -> str:
    # A digit,digit comma anywhere makes every punctuation mark vanish instead of becoming a space.
    digit_comma = _COMMA_STRIP.search(text) is not None
    out = text
    for p in _PUNCT:
        if digit_comma or p + " " in text or " " + p in text:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    # The official scripts pass re.UNICODE (== 32) as sub()'s *count*: at most 32 periods go.
    return _PERIOD_STRIP.sub("", out, count=32)


def _digit_article(text: str) -> str:
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in _ARTICLES]
    return " ".join(_CONTRACTIONS.get(w, w) for w in words)


def _standard(text: str) -> str:
    text = text.replace("\n", " ").replace("\t", " ").strip()
    return _digit_article(_punctuation(text))


def _textvqa(text: str) -> str:
    text = text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    return _standard(text)


VQA_MODES: dict[str, Callable[[str], str]] = {"standard": _standard, "textvqa": _textvqa}
"""Normalisation mode name → the function applied to prediction and gold answers."""


def normalize_answer(text: str, mode: str = "standard") -> str:
    """Normalise one answer as the named mode does.

    >>> normalize_answer("Two dogs.")
    '2 dogs'
    """
    try:
        return VQA_MODES[mode](text)
    except KeyError:
        raise ValueError(f"unknown VQA mode '{mode}' (known: {', '.join(VQA_MODES)})") from None


def vqa_accuracy(*, prediction: str, answers: Sequence[str], mode: str = "standard") -> float:
    """VQA accuracy of one prediction against the human answers (usually 10).

    Each answer is left out in turn; the prediction scores ``min(1, matches / 3)`` against the
    rest, and the scores are averaged.

    >>> vqa_accuracy(prediction="Two", answers=["2"] * 3 + ["3"] * 7)
    0.9
    >>> vqa_accuracy(prediction="yes", answers=["yes"] * 10)
    1.0
    """
    if not answers:
        raise ValueError("vqa_accuracy needs at least one gold answer")
    norm = VQA_MODES.get(mode)
    if norm is None:
        raise ValueError(f"unknown VQA mode '{mode}' (known: {', '.join(VQA_MODES)})")
    pred = norm(prediction)
    gold = [norm(a) for a in answers]
    matches = Counter(gold)[pred]
    total = 0.0
    for g in gold:
        # Leaving out this answer removes one match when it is itself a match.
        total += min(1.0, (matches - (g == pred)) / 3.0)
    return total / len(gold)
