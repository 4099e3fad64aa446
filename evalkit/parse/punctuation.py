"""The VQA evaluation's ``processPunctuation``, shared by the VQA scorers and the yes/no reader.

Each punctuation mark becomes a space, or vanishes when it touches a space or the text holds a
digit, a comma and a digit (``comma_strip``: the scripts' variants differ there); then periods
not next to a digit go, at most 32 of them (the scripts pass ``re.UNICODE`` as ``sub``'s count).
VLMEvalKit's ``process_punctuation`` (its yes/no reading) is GT-Vision-Lab's variant.
"""

from __future__ import annotations

import re

__all__ = ["GT_VISION_COMMA", "process_punctuation"]

PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@",
         "`", ",", "?", "!")  # fmt: skip
_PUNCT_SET = frozenset(PUNCT)
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
GT_VISION_COMMA = re.compile(r"(\d)(\,)(\d)")
"""GT-Vision-Lab's digit-comma test (a digit, a comma, a digit), VLMEvalKit's too."""


def process_punctuation(text: str, comma_strip: re.Pattern[str] = GT_VISION_COMMA) -> str:
    """``processPunctuation`` with one script's digit-comma test.

    >>> [process_punctuation(t) for t in ("yes-no", "yes - no", "1,000.")]
    ['yes no', 'yes  no', '1000']
    """
    if "." not in text and _PUNCT_SET.isdisjoint(text):
        return text  # nothing to replace: the common case
    digit_comma = comma_strip.search(text) is not None
    out = text
    for p in PUNCT:
        if digit_comma or p + " " in text or " " + p in text:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, count=32)
