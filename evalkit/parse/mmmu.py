"""MMMU's reading of a multiple-choice reply, as its own ``eval/eval_utils.py`` does it.

``parse_multi_choice_response`` of MMMU-Benchmark/MMMU at commit
44b45b50e925b97aefcef1d75c6946ae3cfccaf2: the reply, stripped of ``, . ! ? ; : '`` at its ends
(one character kind after another) and padded with a space each side, names an option as
``(B)``; failing that as `` B ``; failing that, when it has more than five words, by holding an
option's text (case ignored). Several found: the one named last. None: the script draws one
with Python's ``random`` seeded once per process (42), so the letter depends on how many were
drawn before it. evalkit draws it with a generator seeded by the sample's id: the same reply
gets the same letter in every run and every shard, and the draw counts as unparsed.
(lmms-eval's copy also reads ``B`` without a space before it and ``B.``; evalkit reads as MMMU.)
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from evalkit.records import Prediction, Sample, option_letters

__all__ = ["choose_option", "parse_mmmu"]

_STRIPPED = (",", ".", "!", "?", ";", ":", "'")


def choose_option(reply: str, letters: Sequence[str], options: Sequence[str],
                  sample_id: str) -> tuple[str, bool]:  # fmt: skip
    """The option letter MMMU reads from ``reply``, and whether a rule found it (not drawn).

    >>> choose_option("The answer is (B).", "ABC", ["red", "green", "blue"], "x")
    ('B', True)
    >>> choose_option("I think it is the green one, not blue really", "ABC",
    ...               ["red", "green", "blue"], "x")
    ('C', True)
    >>> choose_option("no idea", "ABC", ["red", "green", "blue"], "x")[1]
    False
    """
    for char in _STRIPPED:
        reply = reply.strip(char)
    padded = f" {reply} "
    bracketed = [c for c in letters if f"({c})" in padded]
    found = bracketed or [c for c in letters if f" {c} " in padded]
    by_text = False
    if not found and len(padded.split()) > 5:
        lowered = padded.lower()
        found = [c for c, text in zip(letters, options, strict=True) if text.lower() in lowered]
        by_text = True
    if not found:
        return random.Random(f"mmmu:{sample_id}").choice(list(letters)), False
    if len(found) == 1:
        return found[0], True
    if by_text:
        lowered = padded.lower()
        places = [lowered.rfind(options[letters.index(c)].lower()) for c in found]
    elif bracketed:
        places = [padded.rfind(f"({c})") for c in found]
    else:
        places = [padded.rfind(f" {c} ") for c in found]
    return found[places.index(max(places))], True  # the first of equal places, as argmax


def parse_mmmu(text: str, sample: Sample) -> Prediction:
    """A multiple-choice reply as its option's letter, drawn when unreadable (unparsed).

    An open reply stays as written, for the scorer to read its key parts.

    >>> s = Sample("validation_Art_1", (), choices=("red", "blue"))
    >>> parse_mmmu("(B)", s), parse_mmmu("42", Sample("validation_Math_2", ()))
    (Prediction(answer='B', box=None, parsed=True, judged=None, judged_reference=None), Prediction(answer='42', box=None, parsed=True, judged=None, judged_reference=None))
    """  # noqa: E501
    if not sample.choices:
        return Prediction(answer=text)
    letters = option_letters(len(sample.choices))
    letter, found = choose_option(text, letters, sample.choices, sample.id)
    return Prediction(answer=letter, parsed=found)
