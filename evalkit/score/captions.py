r"""Caption metrics with pycocoevalcap, computed as coco-caption's ``COCOEvalCap`` does.

References and predictions are PTB-tokenised (Stanford CoreNLP 3.4.1, shipped in pycocoevalcap)
in two separate runs, punctuation tokens dropped, then BLEU-1..4, METEOR 1.5, ROUGE-L and CIDEr-D
are computed at corpus level: BLEU and METEOR from pooled statistics (not means of per-image
scores), CIDEr's document frequencies from the scored references. SPICE is not offered: it
downloads Stanford CoreNLP models at run time, which an offline harness cannot do.

Same numbers, less waiting: the METEOR JVM (about 5 s to load its paraphrase tables) starts
first, the two tokenizer runs go in parallel, METEOR's lines are streamed in one batch instead
of one round trip per image, and BLEU, ROUGE-L and CIDEr are computed while METEOR scores.

The captions are tokenised in the order of the ``references`` and ``predictions`` mappings, as
coco-caption does: the tokenizer's reading of a line's end can depend on the next line.

Line separators inside a caption (``\r``, U+2028, ...) become spaces before tokenising, so one
caption can never shift the tokenizer's line-aligned output onto another image.

Bootstrap intervals resample images: BLEU and METEOR re-pool the per-image statistics of each
resample (METEOR's EVAL of summed statistics equals its EVAL of the statistics list); ROUGE-L
and CIDEr are means of per-image scores (CIDEr with the corpus document frequencies fixed).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evalkit.errors import MissingDependency, ScoreError
from evalkit.score.bootstrap import bootstrap_indices, percentile_interval

__all__ = [
    "CAPTION_METRICS",
    "CaptionScores",
    "PairedDraws",
    "caption_scores",
    "caption_scores_per_image",
    "paired_caption_draws",
]

CAPTION_METRICS = ("Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "METEOR", "ROUGE_L", "CIDEr")
"""Metric names, on pycocoevalcap's scale (CIDEr is not multiplied by 100)."""

_PUNCTUATION = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
     "...", ";"]
)  # fmt: skip
_LINE_BREAKS = str.maketrans({c: " " for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})
_BLEU_TINY, _BLEU_SMALL = 1e-15, 1e-9  # pycocoevalcap's BleuScorer constants


@dataclass
class CaptionScores:
    """Corpus scores, per-image scores and (optionally) bootstrap intervals."""

    corpus: dict[str, float]
    """Metric → corpus value."""
    per_image: dict[str, dict[str, float]]
    """Metric → image id → value (the per-image values pycocoevalcap reports)."""
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Metric → (low, high) percentile interval from resampling images."""


def require_java() -> None:
    """Fail with one line when no ``java`` is on PATH (the tokenizer and METEOR need it)."""
    if shutil.which("java") is None:
        raise MissingDependency(
            "caption metrics need Java for the PTB tokenizer and METEOR: install a Java runtime "
            "(e.g. apt-get install default-jre-headless) and make sure 'java' is on PATH"
        )


# --------------------------------------------------------------------------- PTB tokenizer
def _ptb_tokenize(captions: Sequence[str]) -> list[str]:
    """Tokenise captions with the PTB tokenizer, one output line per caption."""
    import pycocoevalcap.tokenizer.ptbtokenizer as ptb

    jar = Path(ptb.__file__).with_name(ptb.STANFORD_CORENLP_3_4_1_JAR)
    text = "\n".join(c.translate(_LINE_BREAKS) for c in captions)
    with tempfile.TemporaryDirectory(prefix="evalkit-ptb-") as tmp:
        source = Path(tmp) / "captions.txt"
        source.write_text(text, encoding="utf-8")
        # the client compiler only: a JVM that lives half a second starts 30 % sooner (0.40 →
        # 0.28 s here), and which compiler runs changes nothing of what is computed
        cmd = ["java", "-XX:TieredStopAtLevel=1", "-cp", str(jar),
               "edu.stanford.nlp.process.PTBTokenizer", "-preserveLines", "-lowerCase",
               str(source)]  # fmt: skip
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


# --------------------------------------------------------------------------- METEOR
class _Meteor:
    """METEOR 1.5 in ``-stdio`` mode, with the command line pycocoevalcap uses."""

    def __init__(self) -> None:
        import pycocoevalcap.meteor.meteor as meteor

        cmd = ["java", "-jar", "-Xmx2G", meteor.METEOR_JAR, "-", "-", "-stdio", "-l", "en", "-norm"]
        self._proc = subprocess.Popen(
            cmd,
            cwd=Path(meteor.__file__).parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def _send(self, lines: Sequence[str]) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(("\n".join(lines) + "\n").encode("utf-8"))
        self._proc.stdin.flush()

    def _read(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise ScoreError("METEOR stopped answering (is there enough memory for -Xmx2G?)")
        return line.decode("utf-8").strip()

    def stats(self, gts: Mapping[str, Sequence[str]], res: Mapping[str, Sequence[str]],
              ids: Sequence[str]) -> list[str]:  # fmt: skip
        """The SCORE statistics line of every image, written in one batch."""
        lines = []
        for i in ids:
            hypothesis = res[i][0].replace("|||", "").replace("  ", " ")
            lines.append(" ||| ".join(("SCORE", " ||| ".join(gts[i]), hypothesis)))
        writer = threading.Thread(target=self._send, args=(lines,), daemon=True)
        writer.start()  # write while reading, so neither pipe can fill up and block
        stats = [self._read() for _ in ids]
        writer.join()
        return stats

    def evaluate(self, stats: Sequence[str]) -> tuple[float, list[float]]:
        """Corpus score and per-segment scores of a list of statistics lines."""
        self._send(["EVAL ||| " + " ||| ".join(stats)])
        each = [float(self._read()) for _ in stats]
        return float(self._read()), each

    def evaluate_sums(self, sums: np.ndarray) -> list[float]:
        """Scores of pre-summed statistics (one line per row), for the bootstrap."""
        self._send(["EVAL ||| " + " ".join(repr(float(v)) for v in row) for row in sums])
        scores = []
        for _ in range(len(sums)):
            self._read()  # the per-segment score of the single summed segment
            scores.append(float(self._read()))
        return scores

    def alive(self) -> bool:
        """Whether its JVM is still running."""
        return self._proc.poll() is None

    def close(self) -> None:
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None:
                stream.close()
        self._proc.kill()
        self._proc.wait()


IDLE_S = 60.0
"""How long an unused METEOR JVM (about 1 GB) is kept for the next caption scoring."""


class _SharedMeteor:
    """One METEOR JVM per process, reused by the next scoring within :data:`IDLE_S` seconds.

    Starting it (the JVM and its paraphrase tables) takes about 8 s here: a multirun, a
    rescore of several folders or a test session scores captions many times. One caller uses
    it at a time; a JVM that failed is not reused; an idle one is closed, and so is the last
    one when the process exits.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._meteor: _Meteor | None = None
        self._timer: threading.Timer | None = None
        atexit.register(self.close)

    @contextlib.contextmanager
    def session(self) -> Iterator[_Meteor]:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._meteor is None or not self._meteor.alive():
                self._meteor = _Meteor()
            meteor = self._meteor
            try:
                yield meteor
            except BaseException:
                self.close()  # it may be mid-answer: never hand it to the next caller
                raise
            self._timer = threading.Timer(IDLE_S, self._close_if_idle)
            self._timer.daemon = True
            self._timer.start()

    def _close_if_idle(self) -> None:
        """The idle timer's end: close the JVM unless a caller has it or took it since."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._timer is threading.current_thread():
                self._timer = None
                self.close()
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._meteor is not None:
                self._meteor.close()
                self._meteor = None


_METEOR = _SharedMeteor()


# --------------------------------------------------------------------------- BLEU
def _bleu(gts: Mapping[str, list[str]], res: Mapping[str, list[str]], ids: Sequence[str]
          ) -> tuple[list[float], list[list[float]], np.ndarray]:  # fmt: skip
    """Pycocoevalcap's BLEU ('closest' reference length) plus per-image pooled statistics."""
    from pycocoevalcap.bleu.bleu_scorer import BleuScorer

    scorer = BleuScorer(n=4)
    for i in ids:
        scorer += (res[i][0], gts[i])
    score, each = scorer.compute_score(option="closest", verbose=0)
    stats = np.array(
        [
            (
                c["testlen"],
                scorer._single_reflen(c["reflen"], "closest", c["testlen"]),
                *c["guess"],
                *c["correct"],
            )  # fmt: skip
            for c in scorer.ctest
        ],
        dtype=np.float64,
    )
    return list(score), each, stats


def _bleu_from_sums(sums: np.ndarray) -> np.ndarray:
    """BLEU-1..4 for each row of pooled statistics (testlen, reflen, guess[4], correct[4])."""
    testlen, reflen = sums[:, 0], sums[:, 1]
    guess, correct = sums[:, 2:6], sums[:, 6:10]
    ratios = (correct + _BLEU_TINY) / (guess + _BLEU_SMALL)
    products = np.cumprod(ratios, axis=1)
    bleus = products ** (1.0 / np.arange(1, 5))
    ratio = (testlen + _BLEU_TINY) / (reflen + _BLEU_SMALL)
    brevity = np.where(ratio < 1, np.exp(1 - 1 / np.maximum(ratio, 1e-300)), 1.0)
    return bleus * brevity[:, None]


# --------------------------------------------------------------------------- one side
@dataclass
class _Side:
    """One set of predictions scored: corpus and per-image values, and what pools them."""

    scores: CaptionScores
    bleu: np.ndarray
    """Per image: testlen, reflen, guess[4], correct[4] (rows sum to the corpus statistics)."""
    meteor: np.ndarray
    """Per image: METEOR's statistics line as numbers (rows sum, too)."""
    rouge: np.ndarray
    cider: np.ndarray

    def pooled(self, weights: np.ndarray, meteor: _Meteor, other: _Side | None = None,
               other_weights: np.ndarray | None = None) -> dict[str, np.ndarray]:  # fmt: skip
        """Each metric for each row of ``weights`` (how often each image is drawn).

        With ``other``, image i counts ``weights[r, i]`` times from this side and
        ``other_weights[r, i]`` times from the other (a permutation swaps sides per image).
        """

        def mix(mine: np.ndarray, theirs: np.ndarray | None) -> np.ndarray:
            out: np.ndarray = weights @ mine
            if other_weights is not None and theirs is not None:
                out = out + other_weights @ theirs
            return out

        drawn = weights.sum(axis=1) + (0 if other_weights is None else other_weights.sum(axis=1))
        bleus = _bleu_from_sums(mix(self.bleu, other.bleu if other else None))
        out = {f"Bleu_{n + 1}": bleus[:, n] for n in range(4)}
        out["METEOR"] = np.array(
            meteor.evaluate_sums(mix(self.meteor, other.meteor if other else None))
        )
        out["ROUGE_L"] = mix(self.rouge, other.rouge if other else None) / drawn
        out["CIDEr"] = mix(self.cider, other.cider if other else None) / drawn
        return out


def _check(predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> None:
    if set(predictions) != set(references):
        raise ScoreError("caption_scores: predictions and references must have the same ids")
    if not predictions:
        raise ScoreError("caption_scores: nothing to score")
    if any(len(refs) == 0 for refs in references.values()):
        raise ScoreError("caption_scores: every image needs at least one reference")
    require_java()


def _score_side(
    gts: Mapping[str, list[str]],
    res: Mapping[str, list[str]],
    ids: Sequence[str],
    meteor: _Meteor,
    pool: ThreadPoolExecutor,
) -> _Side:
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    meteor_job: Future[list[str]] = pool.submit(meteor.stats, gts, res, ids)
    corpus: dict[str, float] = {}
    per_image: dict[str, dict[str, float]] = {}
    bleu, bleu_each, bleu_stats = _bleu(gts, res, ids)
    for n in range(4):
        corpus[f"Bleu_{n + 1}"] = float(bleu[n])
        per_image[f"Bleu_{n + 1}"] = _by_id(ids, bleu_each[n])
    with contextlib.redirect_stdout(io.StringIO()):
        for name, scorer in (("ROUGE_L", Rouge()), ("CIDEr", Cider())):
            value, each = scorer.compute_score(gts, res)
            corpus[name], per_image[name] = float(value), _by_id(ids, each)
    meteor_stats = meteor_job.result()
    corpus["METEOR"], meteor_each = meteor.evaluate(meteor_stats)
    per_image["METEOR"] = _by_id(ids, meteor_each)
    scores = CaptionScores({m: corpus[m] for m in CAPTION_METRICS}, per_image)
    return _Side(
        scores,
        bleu_stats,
        _aggregable(np.array([[float(v) for v in s.split()] for s in meteor_stats])),
        np.array([per_image["ROUGE_L"][i] for i in ids]),
        np.array([per_image["CIDEr"][i] for i in ids]),
    )


def _aggregable(stats: np.ndarray) -> np.ndarray:
    """METEOR statistics rows as METEOR itself adds them up into a corpus score.

    A row is tstLen refLen tstFunc refFunc, then four stages of (tstContent refContent
    tstFunction refFunction), then chunks, tstWordMatches refWordMatches. When METEOR
    aggregates (``MeteorStats.addStats``), a segment matched completely in one chunk adds
    no chunks, so summing the rows as they are would charge it a fragmentation penalty that
    the corpus score never does. Those chunks are zeroed here, and then the rows add up to
    the statistics METEOR scores the corpus with.
    """
    out = stats.copy()
    stages = stats[:, 4:20].reshape(len(stats), 4, 4)
    test_matches, ref_matches = (
        stages[:, :, [0, 2]].sum(axis=(1, 2)),
        stages[:, :, [1, 3]].sum(axis=(1, 2)),
    )
    perfect = (test_matches == stats[:, 0]) & (ref_matches == stats[:, 1]) & (stats[:, 20] == 1)
    out[perfect, 20] = 0.0
    return out


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    """How often each image is drawn, per resample (rows of ``idx``)."""
    return np.stack([np.bincount(row, minlength=n) for row in idx]).astype(np.float64)


# --------------------------------------------------------------------------- public API
def caption_scores_per_image(
    *,
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    resamples: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
) -> CaptionScores:
    """Corpus scores, per-image scores and, when ``resamples > 0``, bootstrap intervals."""
    _check(predictions, references)
    # Keep the callers' orders: the PTB tokenizer reads a line's end in the light of the next
    # line ("... a." then a capitalised word), so order changes tokens, exactly as it does in
    # coco-caption, which tokenises references and predictions in the order it is given.
    ids = list(references)
    with _METEOR.session() as meteor:  # a new JVM loads its tables while the rest runs
        with ThreadPoolExecutor(max_workers=2) as pool:
            gts_job = pool.submit(_tokenize_groups, {i: list(references[i]) for i in ids})
            res_job = pool.submit(_tokenize_groups, {i: [p] for i, p in predictions.items()})
            side = _score_side(gts_job.result(), res_job.result(), ids, meteor, pool)
        result = side.scores
        if resamples > 0:
            draws: dict[str, list[np.ndarray]] = {m: [] for m in CAPTION_METRICS}
            for idx in bootstrap_indices(len(ids), resamples=resamples, seed=seed):
                for metric, values in side.pooled(_counts(idx, len(ids)), meteor).items():
                    draws[metric].append(values)
            result.intervals = {
                m: percentile_interval(np.concatenate(v), confidence) for m, v in draws.items()
            }
    return result


@dataclass
class PairedDraws:
    """Two sets of captions of the same images, scored and resampled together."""

    base: dict[str, float]
    """Metric → corpus value of the base captions."""
    cand: dict[str, float]
    """Metric → corpus value of the candidate captions."""
    bootstrap: dict[str, np.ndarray]
    """Metric → ``cand - base`` on each paired resample of images."""
    null: dict[str, np.ndarray]
    """Metric → ``cand - base`` with the two captions of each image swapped at random."""
    base_each: dict[str, dict[str, float]]
    """Metric → image id → the base caption's per-image value."""
    cand_each: dict[str, dict[str, float]]


def paired_caption_draws(
    *,
    base: Mapping[str, str],
    cand: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    resamples: int = 1000,
    permutations: int = 1000,
    seed: int = 0,
) -> PairedDraws:
    """Score two runs' captions of the same images and draw the paired statistics.

    Both sides are scored on the same images with the same references (so CIDEr's document
    frequencies are shared). A bootstrap resample draws images, and each corpus metric is
    recomputed on *both* sides from that one draw; a permutation swaps the two captions of
    each image with probability 1/2 and recomputes both corpus scores.
    """
    _check(base, references)
    _check(cand, references)
    ids = list(references)
    n = len(ids)
    with _METEOR.session() as meteor:
        with ThreadPoolExecutor(max_workers=2) as pool:
            gts_job = pool.submit(_tokenize_groups, {i: list(references[i]) for i in ids})
            a_job = pool.submit(_tokenize_groups, {i: [base[i]] for i in ids})
            b_tokens = _tokenize_groups({i: [cand[i]] for i in ids})
            gts = gts_job.result()
            side_a = _score_side(gts, a_job.result(), ids, meteor, pool)
            side_b = _score_side(gts, b_tokens, ids, meteor, pool)
        boot: dict[str, list[np.ndarray]] = {m: [] for m in CAPTION_METRICS}
        for idx in bootstrap_indices(n, resamples=resamples, seed=seed):
            counts = _counts(idx, n)
            a, b = side_a.pooled(counts, meteor), side_b.pooled(counts, meteor)
            for metric in CAPTION_METRICS:
                boot[metric].append(b[metric] - a[metric])
        null: dict[str, list[np.ndarray]] = {m: [] for m in CAPTION_METRICS}
        rng = np.random.default_rng(seed + 1)
        for start in range(0, permutations, 256):
            swap = rng.integers(0, 2, size=(min(256, permutations - start), n)).astype(float)
            a = side_a.pooled(1.0 - swap, meteor, side_b, swap)
            b = side_a.pooled(swap, meteor, side_b, 1.0 - swap)
            for metric in CAPTION_METRICS:
                null[metric].append(b[metric] - a[metric])
    return PairedDraws(
        dict(side_a.scores.corpus),
        dict(side_b.scores.corpus),
        {m: np.concatenate(v) if v else np.zeros(0) for m, v in boot.items()},
        {m: np.concatenate(v) if v else np.zeros(0) for m, v in null.items()},
        side_a.scores.per_image,
        side_b.scores.per_image,
    )


def _by_id(ids: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    return dict(zip(ids, (float(v) for v in values), strict=True))


def caption_scores(
    *, predictions: Mapping[str, str], references: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """Corpus-level BLEU-1..4, METEOR, ROUGE-L and CIDEr of the predicted captions.

    Keys are :data:`CAPTION_METRICS`; values on pycocoevalcap's scale. Needs Java.

    >>> scores = caption_scores(predictions={"1": "a red ball"},
    ...                         references={"1": ["A red ball.", "A ball that is red."]})
    >>> round(scores["Bleu_1"], 4), sorted(scores) == sorted(CAPTION_METRICS)
    (1.0, True)
    """
    return caption_scores_per_image(predictions=predictions, references=references).corpus
