"""What a judge protocol is: a benchmark's judge prompt and how its verdict is read.

A protocol follows the benchmark's own judging script at a named commit: the prompt it
builds for one answer, the second prompt it asks when the first verdict cannot be read, and
how a verdict is read. Two kinds:

* ``grade``: the verdict is a score of the answer (MM-Vet's correctness 0.0 to 1.0); the
  task's ``grade`` metric is that score;
* ``extract``: the verdict is the answer the judge read out of the model's text (an option
  letter, a number), scored then by the task's own rules as if the model had given it.

``template_sha256`` hashes every fixed text the protocol sends: it is recorded in
``run.json`` and is part of each judge request's cache key, so an edited prompt is never
served an old verdict. Each protocol also has a deterministic ``stand_in``: the answer
``judge=stand_in`` gives a prompt, in the judge's own format, from a fixed rule (for offline
runs; its grades are not the benchmark's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from evalkit.records import Prediction

__all__ = ["JudgeProtocol", "JudgeQuery", "Verdict", "apply_verdict"]


@dataclass(frozen=True, slots=True)
class JudgeQuery:
    """What a judge is asked about one answer."""

    question: str
    """The question as the dataset has it (not the model's prompt)."""
    answer: str
    """The model's answer, as it gave it."""
    references: tuple[str, ...]
    """The gold answers."""
    choices: tuple[str, ...] = ()
    """Multiple choice: the options, in the order shown."""
    context: str = ""
    """Text the question comes with (LLaVA-Bench's image captions)."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """The sample's kept columns (LLaVA-Bench's ``category`` picks its rule)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judge's verdict, read."""

    text: str
    """What was read: a grade (``0.6``) or the extracted answer (``B``)."""
    score: float | None = None
    """A grader's score (``None`` for an extraction)."""
    reference: float | None = None
    """A grader's score of the reference answer, when it grades both (LLaVA-Bench)."""


def apply_verdict(prediction: Prediction, verdict: Verdict, kind: str) -> Prediction:
    """The prediction a verdict makes: a grader's scores on it, or the extraction as its answer.

    >>> apply_verdict(Prediction("x", parsed=False), Verdict("B"), "extract")
    Prediction(answer='B', box=None, parsed=True, judged=None, judged_reference=None)
    """
    if kind == "grade":
        return replace(prediction, judged=verdict.score, judged_reference=verdict.reference)
    return replace(prediction, answer=verdict.text, parsed=True)


@dataclass(frozen=True)
class JudgeProtocol:
    """One benchmark's way of asking its judge and reading the answer."""

    name: str
    kind: Literal["grade", "extract"]
    source: str
    """The script it follows: ``owner/repo path @ commit``."""
    texts: Sequence[str]
    """Every fixed text its prompts are made of (what ``template_sha256`` hashes)."""
    prompts: Callable[[JudgeQuery], tuple[str, ...]]
    """The prompt for an answer, then the official second prompts asked in turn while the
    verdict cannot be read."""
    read: Callable[[str, JudgeQuery], Verdict | None]
    """The verdict in the judge's text about the query, or ``None`` when it cannot be read."""
    stand_in: Callable[[str], str]
    """The stand-in judge's answer to one of its prompts."""
    max_tokens: int
    """The official script's generation budget for the judge."""
    system: str | None = None
    """The system message the script sends before its prompt, if any."""
    scale: tuple[float, float] | None = None
    """A grade's range (MM-Vet: 0 to 1)."""

    @property
    def template_sha256(self) -> str:
        """SHA-256 of the protocol's fixed texts, in order (a NUL between them)."""
        joined = "\0".join((self.name, *self.texts, self.system or ""))
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()

    def describe(self) -> dict[str, object]:
        """What ``run.json``'s ``judge`` records of the protocol."""
        return {"protocol": self.name, "kind": self.kind, "source": self.source,
                "template_sha256": self.template_sha256}  # fmt: skip
