"""Stage ⑥: scorers with official-scorer parity. Every function is keyword-only."""

from evalkit.parse.boxes import parse_box
from evalkit.score.anls import anls
from evalkit.score.captions import caption_scores
from evalkit.score.grounding import iou
from evalkit.score.relaxed import relaxed_accuracy
from evalkit.score.vqa import vqa_accuracy

__all__ = ["anls", "caption_scores", "iou", "parse_box", "relaxed_accuracy", "vqa_accuracy"]
