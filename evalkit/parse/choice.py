"""Free text → the option letter it chooses, by a named rule.

``vlmevalkit``
    VLMEvalKit's ``can_infer`` (``vlmeval/utils/matching_util.py`` at
    18fc37a5337e31eec9c104887728ad14e82a6a85), the matching MMBench runs before it asks a
    judge model: ``.()[],:;!*#{}`` become spaces and the text is split on whitespace; exactly
    one option letter among the pieces is the answer. Failing that, a refusal phrase or a lone
    ``Z`` gives ``Z`` (no option). Failing that too, exactly one option whose text (lower-cased)
    occurs in the answer (lower-cased) is the answer. Anything else chooses nothing: where
    VLMEvalKit would call its judge, evalkit, offline, counts the answer wrong.
``vlmevalkit-cjk``
    The same, with CJK characters and full-width punctuation also made spaces first, so that
    ``答案是B`` or ``选B。`` (no space around the letter) choose ``B`` as ``The answer is B``
    does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from evalkit.records import option_letters

__all__ = ["CHOICE_RULES", "choose_letter"]

_PUNCTUATION = ".()[],:;!*#{}"
_REFUSALS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
# CJK ideographs, kana, hangul, and the full-width and CJK punctuation blocks
_CJK = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]"
)


def _by_letter(answer: str, letters: Sequence[str]) -> str | None:
    if "Failed to obtain answer via API" in answer:
        return None
    if any(refusal in answer for refusal in _REFUSALS):
        return "Z"
    for char in _PUNCTUATION:
        answer = answer.replace(char, " ")
    pieces = [piece.strip() for piece in answer.split()]
    found = [letter for letter in letters if letter in pieces]
    if len(found) == 1:
        return found[0]
    if not found and sum(z in pieces for z in ("Z", "")) == 1:
        return "Z"
    return None


def _by_text(answer: str, letters: Sequence[str], options: Sequence[str]) -> str | None:
    lowered = answer.lower()
    found = [k for k, option in zip(letters, options, strict=True) if option.lower() in lowered]
    return found[0] if len(found) == 1 else None


def _vlmevalkit(answer: str, options: Sequence[str]) -> str | None:
    letters = option_letters(len(options))
    return _by_letter(answer, letters) or _by_text(answer, letters, options)


def _vlmevalkit_cjk(answer: str, options: Sequence[str]) -> str | None:
    letters = option_letters(len(options))
    spaced = _CJK.sub(" ", answer)
    return _by_letter(spaced, letters) or _by_text(answer, letters, options)


CHOICE_RULES: dict[str, Callable[[str, Sequence[str]], str | None]] = {
    "vlmevalkit": _vlmevalkit,
    "vlmevalkit-cjk": _vlmevalkit_cjk,
}
"""Rule name → ``(answer, options) -> letter``, ``Z`` (none of them) or ``None`` (no choice)."""


def choose_letter(answer: str, options: Sequence[str], rule: str = "vlmevalkit") -> str:
    """The letter ``answer`` chooses among ``options`` under ``rule``; empty when none.

    >>> options = ["a cat", "a dog", "a bird"]
    >>> [choose_letter(a, options) for a in ("B", "(C)", "The answer is A.", "a dog", "maybe")]
    ['B', 'C', 'A', 'B', '']
    >>> choose_letter("答案是B", options), choose_letter("答案是B", options, "vlmevalkit-cjk")
    ('', 'B')
    """
    return CHOICE_RULES[rule](answer, options) or ""
