"""MMMU's scoring, as its own ``eval/eval_utils.py`` does it.

Read at MMMU-Benchmark/MMMU commit 44b45b50e925b97aefcef1d75c6946ae3cfccaf2 (lmms-eval's ``mmmu``
copies the same functions):

* **Multiple choice**: the letter :func:`evalkit.parse.mmmu.choose_option` read, equal to the
  gold letter.
* **Open** (:func:`open_candidates`, :func:`open_correct`): the reply's key parts (the text after
  ``could be``, ``so``, ``is``, ``thus``, ``therefore``, ``final``, ``answer``, ``result``, and
  ``=`` in its last sentence, the shortest tail per sentence), the numbers in them, each
  normalised (a number: a float rounded to 2 places; text: lower-cased, a single character padded
  with a space); right when a gold number equals a candidate number, or the gold text is inside
  a candidate text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["normalize", "open_candidates", "open_correct", "subject_of"]

_KEYS = ("could be ", "so ", "is ", "thus ", "therefore ", "final ", "answer ", "result ")
_TRIVIAL = {":", ",", ".", "!", "?", ";", "'"}
_COMMAS = re.compile(r"-?\b\d{1,3}(?:,\d{3})+\b")
_SCIENTIFIC = re.compile(r"-?\d+(?:\.\d+)?[eE][+-]?\d+")
_SIMPLE = re.compile(r"-?(?:\d+\.\d+|\.\d+|\d+\b)(?![eE][+-]?\d+)(?![,\d])")
_SUBJECT = re.compile(r"^(?:.*/)?[^_/]+_(.+)_\d+$")


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def normalize(text: str) -> list[float | str]:
    """MMMU's ``normalize_str``: a number as a float to 2 places, else lower-cased text.

    A single character is padded with a space each side, two ways, against trivial matches.

    >>> normalize(" 1,234.567 "), normalize("Paris"), normalize("x")
    ([1234.57], ['paris'], [' x', 'x '])
    """
    text = text.strip()
    if _is_number(text):
        return [round(float(text.replace(",", "")), 2)]
    text = text.lower()
    return [f" {text}", f"{text} "] if len(text) == 1 else [text]


def _key_parts(reply: str) -> list[str]:
    reply = reply.strip().strip(".").lower()
    sentences = re.split(r"\.\s(?=[A-Z])|\n", reply)
    parts = []
    for index, sentence in enumerate(sentences):
        keys = (*_KEYS, "=") if index == len(sentences) - 1 else _KEYS
        tails = [sentence.split(key)[-1].strip() for key in keys if key in sentence]
        if tails:
            shortest = tails[0]
            for tail in tails[1:]:  # the first of equal lengths, as the script keeps it
                if len(tail) < len(shortest):
                    shortest = tail
            if shortest and shortest.strip() not in _TRIVIAL:
                parts.append(shortest)
    return parts or [reply]


def open_candidates(reply: str) -> list[float | str]:
    """MMMU's ``parse_open_response``: the reply's key parts and their numbers, normalised.

    >>> sorted(map(str, open_candidates("The total is 1,200 dollars.")))  # 200: the script's too
    ['1,200 dollars', '1200.0', '200.0']
    """
    parts = _key_parts(reply)
    found: list[str] = list(parts)
    for part in parts:
        found += _COMMAS.findall(part) + _SCIENTIFIC.findall(part) + _SIMPLE.findall(part)
    out: list[float | str] = []
    for item in found:
        for value in normalize(item):
            if value not in out:
                out.append(value)
    return out


def open_correct(gold: str, candidates: Sequence[float | str]) -> bool:
    """MMMU's ``eval_open``: a gold number among the candidates, or gold text inside one.

    >>> open_correct("1200", open_candidates("The total is 1,200 dollars.")), open_correct(
    ...     "paris", open_candidates("It is Paris, France"))
    (True, True)
    """
    golds = normalize(gold)
    for candidate in candidates:
        if isinstance(candidate, str):
            if any(isinstance(g, str) and g in candidate for g in golds):
                return True
        elif candidate in golds:
            return True
    return False


def subject_of(sample_id: str) -> str | None:
    """The subject in an MMMU id (``validation_Art_Theory_12`` → ``Art_Theory``).

    As lmms-eval's ``extract_subset_name`` reads it; ``None`` for an id of another shape.

    >>> subject_of("validation_Art_Theory_12"), subject_of("dev/dev_Math_3"), subject_of("7")
    ('Art_Theory', 'Math', None)
    """
    found = _SUBJECT.match(sample_id)
    return found.group(1) if found else None
