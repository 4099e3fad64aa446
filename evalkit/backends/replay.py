"""The ``replay`` backend: each sample is answered from a predictions file made elsewhere.

``backend=replay backend.predictions=PATH`` scores predictions that another harness, a script
or an earlier run produced, exactly as a model's answers are scored: the task's parser,
metrics, groups, ``compare``, ``report`` and the notebook all work on the run. Predictions are
paired with samples by id (:mod:`evalkit.backends.predictions`), never by position.

* A sample the file has no prediction for is an error row, ``MissingPrediction`` (and so is
  one that failed in a replayed evalkit run); an empty cell is an empty answer.
* Predictions that match no sample of the run are counted in ``run.json``
  (``backend_record.unmatched``) and named in one warning at the end.
* Nothing is sent anywhere and nothing costs anything; the response cache is not used (a
  replayed answer is already on disk, and the file's SHA-256 in ``run.json`` pins it).
* ``backend.model`` is only a label: by default the file's name.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Self

from evalkit.backends.base import Backend, BackendIdentity, RetryDecision
from evalkit.backends.predictions import PredictionsFile, read_predictions
from evalkit.config import ReplayConfig
from evalkit.errors import MissingPrediction
from evalkit.records import Completion, Request, Usage

__all__ = ["ReplayBackend"]

log = logging.getLogger(__name__)

SHOWN_IDS = 5
"""How many ids a message names before it says how many more there are."""


def _named(ids: list[str]) -> str:
    shown = ", ".join(f"'{i}'" for i in ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


class ReplayBackend(Backend):
    """Answers from a predictions file; free, instant, offline and never cached."""

    priced = False
    adaptive = False
    needs_images = False
    """The answers are in the file: a dataset without its images will do."""

    def __init__(self, config: ReplayConfig, predictions: PredictionsFile) -> None:
        self.predictions = predictions
        model = config.model if config.model != ReplayConfig.model else predictions.path.name
        self.identity = BackendIdentity(name="replay", model=model)
        self._asked: set[str] = set()
        self._elsewhere: set[str] = set()
        """Samples other shards ask: their predictions are matched there."""
        self._examples = _named(list(itertools.islice(predictions.by_id, SHOWN_IDS)))

    @classmethod
    def from_config(cls, config: ReplayConfig) -> Self:
        """Read ``config.predictions`` whole (one line on any problem with it)."""
        predictions = read_predictions(config.predictions, id_column=config.id_column,
                                       prediction_column=config.prediction_column,
                                       format=config.format,
                                       task_id_column=config.task_id_column)  # fmt: skip
        return cls(config, predictions)

    def attempt_timeout(self, configured: float) -> float | None:
        """Reading a dict takes no time: no timeout."""
        return None

    def may_cache(self, request: Request) -> bool:
        """A replayed answer is already on disk: never cached."""
        return False

    async def generate(self, request: Request) -> Completion:
        """The file's prediction for ``request.sample_id``, or :class:`MissingPrediction`."""
        self._asked.add(request.sample_id)
        predicted = self.predictions.by_id.get(request.sample_id)
        if predicted is None:
            raise MissingPrediction(
                f"no prediction for sample '{request.sample_id}' in "
                f"{self.predictions.path.name} (its {self.predictions.id_column} values look like "
                f"{self._examples})"
            )
        if predicted.error is not None:
            raise MissingPrediction(
                f"sample '{request.sample_id}' failed in the run replayed ({predicted.error})"
            )
        usage = Usage(predicted.input_tokens, predicted.output_tokens, None)
        return Completion(text=predicted.text, usage=usage, finish_reason=None,
                          latency_s=predicted.latency_s or 0.0)  # fmt: skip

    def asked_elsewhere(self, sample_id: str) -> None:
        """Another shard answers this sample: its prediction is not unmatched here."""
        self._elsewhere.add(sample_id)

    def unmatched(self) -> list[str]:
        """The file's ids no sample of the run asked for, in the file's order."""
        return [i for i in self.predictions.by_id
                if i not in self._asked and i not in self._elsewhere]  # fmt: skip

    def record(self) -> dict[str, Any]:
        """The predictions file (name, size, SHA-256, rows) and how its ids matched the run."""
        unmatched = self.unmatched()
        return {**self.predictions.record(), "matched": len(self.predictions.by_id) -
                len(unmatched), "unmatched": len(unmatched),
                "unmatched_ids": unmatched[:20]}  # fmt: skip

    def cache_options(self) -> dict[str, Any]:
        """Never cached; the file's hash identifies the answers."""
        return {"predictions_sha256": self.predictions.sha256}

    def classify(self, error: Exception) -> RetryDecision:
        """A missing prediction stays missing: never retried."""
        return RetryDecision.fail

    async def aclose(self) -> None:
        """Warn once about predictions that matched no sample."""
        unmatched = self.unmatched()
        if unmatched and self._asked:
            log.warning(
                "%d of %d predictions in %s match no sample of this run: %s",
                len(unmatched), len(self.predictions.by_id), self.predictions.path.name,
                _named(unmatched),
            )  # fmt: skip
