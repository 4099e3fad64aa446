"""MME's reading of a yes/no answer (``calculation.py``, ``parse_pred_ans``)."""

from __future__ import annotations

__all__ = ["mme_label"]


def mme_label(answer: str) -> str:
    """``yes``, ``no`` or ``other``, as MME's ``parse_pred_ans`` reads a reply (lower-cased).

    The reply itself when it is ``yes`` or ``no``; else ``yes`` when its first four characters
    hold ``yes``, ``no`` when they hold ``no``; else ``other`` (wrong, whatever the label).

    >>> [mme_label(a) for a in ("Yes", "No.", "Yes, there is", "nope", "The answer is yes", "")]
    ['yes', 'no', 'yes', 'no', 'other', 'other']
    """
    answer = answer.lower()
    if answer in ("yes", "no"):
        return answer
    prefix = answer[:4]
    if "yes" in prefix:
        return "yes"
    return "no" if "no" in prefix else "other"
