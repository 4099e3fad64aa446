"""POPE's reading of a yes/no answer (``evaluate.py`` of RUCAIBox/POPE @ f3ec6043)."""

from __future__ import annotations

__all__ = ["pope_reads_yes"]


def pope_reads_yes(answer: str) -> bool:
    """Whether POPE's rule reads ``answer`` as yes.

    >>> [pope_reads_yes(a) for a in ("Yes, there is.", "No.", "There is not a dog", "yes. No")]
    [True, False, False, True]
    >>> pope_reads_yes("No, there is no dog."), pope_reads_yes("Nope"), pope_reads_yes("")
    (False, True, True)
    """
    if "." in answer:
        answer = answer.split(".")[0]
    words = answer.replace(",", "").split(" ")
    return not ("No" in words or "not" in words or "no" in words)
