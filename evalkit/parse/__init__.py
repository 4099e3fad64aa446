"""Stage ⑤: completion text → :class:`~evalkit.records.Prediction`."""

from evalkit.parse.answers import parse_prediction
from evalkit.parse.boxes import BOX_FORMATS, parse_box

__all__ = ["BOX_FORMATS", "parse_box", "parse_prediction"]
