"""In-context examples (``task.fewshot``): a pool of solved samples, and each sample's choice.

The pool is the first ``fewshot.pool`` usable samples of ``fewshot.split`` (a train split) or,
when the task names none, of the evaluated split itself. Each sample gets ``k`` of them, drawn
without replacement by a generator seeded with ``fewshot.seed`` and the sample's id, so a
sample's examples do not depend on which other samples run, in what order, or how many; a
sample never sees itself or another question about its own image among them (Qwen-VL's
eval_mm draws from the train split, where neither can happen).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from evalkit.config import TaskSpec
from evalkit.errors import ConfigError, DataError
from evalkit.records import Sample

__all__ = ["FewShotPool"]


def _digests(sample: Sample) -> frozenset[str]:
    return frozenset(image.sha256 for image in sample.images if image.url is None)


@dataclass(frozen=True)
class FewShotPool:
    """The candidates, and the rule that picks a sample's examples among them."""

    k: int
    seed: int
    candidates: tuple[Sample, ...]
    split: str
    digests: tuple[frozenset[str], ...] = ()
    """Each candidate's image digests (computed once: a sample's own image is left out)."""

    def __post_init__(self) -> None:
        if not self.digests:
            object.__setattr__(self, "digests", tuple(_digests(c) for c in self.candidates))

    @classmethod
    def load(cls, task: TaskSpec, split: str, samples: Callable[[str], Iterator[Sample]]) -> (
        FewShotPool | None
    ):  # fmt: skip
        """Read the pool; ``samples(split)`` streams a split's usable samples.

        ``None`` when the task asks for no examples. Too few candidates for ``k`` is a one-line
        error before any call.
        """
        spec = task.fewshot
        if spec.k == 0:
            return None
        source = spec.split or split
        pool: list[Sample] = []
        for sample in samples(source):
            pool.append(replace(sample, examples=()))
            if spec.pool is not None and len(pool) >= spec.pool:
                break
        needed = spec.k + (0 if spec.split else 1)
        if len(pool) < needed:
            raise ConfigError(
                f"task.fewshot.k={spec.k}: split '{source}' has only {len(pool)} usable "
                f"samples to draw examples from (task.fewshot.pool={spec.pool})"
            )
        return cls(spec.k, spec.seed, tuple(pool), source)

    def choose(self, sample: Sample) -> tuple[Sample, ...]:
        """The sample's examples, in the order they are shown.

        Too few candidates that differ from it is a :class:`DataError`: its row's error.

        >>> from evalkit.records import ImageRef
        >>> pool = FewShotPool(2, 0, tuple(Sample(id=str(i), images=(ImageRef(bytes([i]), 1, 1,
        ...     "PNG"),), references=("a",)) for i in range(5)), "train")
        >>> [e.id for e in pool.choose(pool.candidates[0])] == [
        ...     e.id for e in pool.choose(pool.candidates[0])]
        True
        >>> "0" in [e.id for e in pool.choose(pool.candidates[0])]
        False
        """
        own = _digests(sample)
        allowed = [
            c for c, digests in zip(self.candidates, self.digests, strict=True)
            if c.id != sample.id and not own & digests
        ]  # fmt: skip
        if len(allowed) < self.k:
            raise DataError(
                f"task.fewshot.k={self.k}: only {len(allowed)} examples of split "
                f"'{self.split}' differ from sample '{sample.id}' and its image"
            )
        rng = random.Random(f"{self.seed}:{sample.id}")
        return tuple(rng.sample(allowed, self.k))
