"""VLMEvalKit's yes/no reading of a free answer (``YOrN_Extraction``).

``vlmeval/dataset/utils/yorn.py`` of open-compass/VLMEvalKit at
0c7163c9c71cff1758ff1c101385e8ce80d8713a: the answer lower-cased, its punctuation processed as
the VQA evaluation does (:func:`evalkit.parse.punctuation.process_punctuation`), split into
words; ``yes`` among them and ``no`` not: yes; ``no`` and not ``yes``: no; otherwise unknown,
which VLMEvalKit hands to its judge (evalkit: ``judge.mode=fallback`` with protocol ``yorn``).
"""

from __future__ import annotations

from evalkit.parse.punctuation import process_punctuation

__all__ = ["read_yes_no"]


def read_yes_no(answer: str) -> str:
    """``yes``, ``no`` or ``""`` (neither, or both).

    >>> [read_yes_no(a) for a in ("Yes, it is.", "No.", "yes and no", "Maybe", "Nope", "NO!")]
    ['yes', 'no', '', '', '', 'no']
    """
    words = process_punctuation(answer.lower()).split()
    has_yes, has_no = "yes" in words, "no" in words
    if has_yes != has_no:
        return "yes" if has_yes else "no"
    return ""
