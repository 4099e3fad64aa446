"""Turn a completion's text into the prediction a scorer compares."""

from __future__ import annotations

from evalkit.parse.boxes import parse_box
from evalkit.records import Family, Prediction, Sample

__all__ = ["clean_answer", "parse_prediction"]

_CHAT_END = ("<|im_end|>", "<|endoftext|>", "</s>")


def clean_answer(text: str) -> str:
    """Strip surrounding whitespace and chat end-of-turn markers (scorers normalise the rest).

    >>> clean_answer("  Paris<|im_end|>")
    'Paris'
    """
    for marker in _CHAT_END:
        text = text.replace(marker, "")
    return text.strip()


def parse_prediction(*, text: str, family: Family, sample: Sample, box_format: str) -> Prediction:
    """Parse a completion for the task family: an answer, a caption, or a box.

    >>> from evalkit.records import ImageRef
    >>> s = Sample(id="1", images=(ImageRef(b"", 100, 100, "PNG"),), question="the dog")
    >>> parse_prediction(text="(0,0),(999,999)", family=Family.grounding, sample=s,
    ...                  box_format="qwen-vl").box
    (0.0, 0.0, 100.0, 100.0)
    """
    if family is Family.grounding:
        width, height = sample.images[0].pixel_size()
        box = parse_box(text=text, fmt=box_format, width=width, height=height)
        return Prediction(answer=text.strip(), box=box)
    if family is Family.captioning:
        return Prediction(answer=" ".join(clean_answer(text).split()))
    return Prediction(answer=clean_answer(text))
