r"""Caption metrics with pycocoevalcap, computed as coco-caption's ``COCOEvalCap`` does.

References and predictions are PTB-tokenised (Stanford CoreNLP 3.4.1, shipped in pycocoevalcap)
in two separate runs, punctuation tokens dropped, then BLEU-1..4, METEOR, ROUGE-L and CIDEr-D are
computed at corpus level (BLEU from pooled n-gram statistics, CIDEr's document frequencies from
the scored references). SPICE is not offered: it downloads CoreNLP models at run time.

Line separators inside a caption (``\r``, U+2028, ...) are turned into spaces before tokenising,
so one caption can never shift the tokenizer's line-aligned output onto another image.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from pycocoevalcap.meteor.meteor import Meteor

from evalkit.errors import MissingDependency, ScoreError

__all__ = ["CAPTION_METRICS", "caption_scores", "caption_scores_per_image", "require_java"]

CAPTION_METRICS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr")
"""Metric names, on pycocoevalcap's scale (CIDEr is not multiplied by 100)."""

_PUNCTUATION = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
     "...", ";"]
)  # fmt: skip
_LINE_BREAKS = str.maketrans({c: " " for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})


def require_java() -> None:
    """Fail with one line when no ``java`` is on PATH (the tokenizer and METEOR need it)."""
    if shutil.which("java") is None:
        raise MissingDependency(
            "caption metrics need Java for the PTB tokenizer and METEOR: install a Java runtime "
            "(e.g. apt-get install default-jre-headless) and make sure 'java' is on PATH"
        )


def _ptb_tokenize(captions: Sequence[str]) -> list[str]:
    """Tokenise captions with the PTB tokenizer, one output line per caption."""
    import pycocoevalcap.tokenizer.ptbtokenizer as ptb

    jar = Path(ptb.__file__).with_name(ptb.STANFORD_CORENLP_3_4_1_JAR)
    text = "\n".join(c.translate(_LINE_BREAKS) for c in captions)
    with tempfile.TemporaryDirectory(prefix="evalkit-ptb-") as tmp:
        source = Path(tmp) / "captions.txt"
        source.write_text(text, encoding="utf-8")
        cmd = ["java", "-cp", str(jar), "edu.stanford.nlp.process.PTBTokenizer",
               "-preserveLines", "-lowerCase", str(source)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        last = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ScoreError(f"PTB tokenizer failed (exit {proc.returncode}): {last[0]}")
    lines = proc.stdout.decode("utf-8").split("\n")
    if len(lines) < len(captions):
        raise ScoreError(f"PTB tokenizer returned {len(lines)} lines for {len(captions)} captions")
    return [
        " ".join(w for w in line.rstrip().split(" ") if w not in _PUNCTUATION)
        for line in lines[: len(captions)]
    ]


def _tokenize_groups(groups: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    keys = [k for k, caps in groups.items() for _ in caps]
    flat = [c for caps in groups.values() for c in caps]
    out: dict[str, list[str]] = {k: [] for k in groups}
    for key, tokens in zip(keys, _ptb_tokenize(flat), strict=True):
        out[key].append(tokens)
    return out


def caption_scores_per_image(
    *, predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Corpus scores and per-image scores (metric → image id → score)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    if set(predictions) != set(references):
        raise ScoreError("caption_scores: predictions and references must have the same ids")
    if not predictions:
        raise ScoreError("caption_scores: nothing to score")
    if any(len(refs) == 0 for refs in references.values()):
        raise ScoreError("caption_scores: every image needs at least one reference")
    require_java()
    ids = sorted(predictions)
    gts = _tokenize_groups({i: list(references[i]) for i in ids})
    res = _tokenize_groups({i: [predictions[i]] for i in ids})

    corpus: dict[str, float] = {}
    per_image: dict[str, dict[str, float]] = {}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocoevalcap prints BLEU's statistics
        bleu, bleu_each = Bleu(4).compute_score(gts, res)
        for n in range(4):
            corpus[f"Bleu_{n + 1}"] = float(bleu[n])
            per_image[f"Bleu_{n + 1}"] = dict(zip(ids, map(float, bleu_each[n]), strict=True))
        meteor = _ClosableMeteor()
        try:
            value, each = meteor.compute_score(gts, res)
        finally:
            meteor.close()
        corpus["METEOR"], per_image["METEOR"] = float(value), _by_id(ids, each)
        for name, scorer in (("ROUGE_L", Rouge()), ("CIDEr", Cider())):
            value, each = scorer.compute_score(gts, res)
            corpus[name], per_image[name] = float(value), _by_id(ids, each)
    return corpus, per_image


class _ClosableMeteor(Meteor):  # type: ignore[misc]
    """pycocoevalcap's METEOR wrapper with a close() that can run twice (its __del__ cannot)."""

    def close(self) -> None:
        proc = self.__dict__.pop("meteor_p", None)
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
        proc.kill()
        proc.wait()

    def __del__(self) -> None:
        self.close()


def _by_id(ids: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    return dict(zip(ids, (float(v) for v in values), strict=True))


def caption_scores(
    *, predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """Corpus-level BLEU-1..4, METEOR, ROUGE-L and CIDEr of the predicted captions.

    Keys are :data:`CAPTION_METRICS`; values on pycocoevalcap's scale.
    """
    return caption_scores_per_image(predictions=predictions, references=references)[0]
