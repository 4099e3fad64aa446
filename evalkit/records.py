"""Frozen records passed between the pipeline stages.

dataset → :class:`Sample` → prompt → :class:`Request` → backend → :class:`Completion` →
parse → :class:`Prediction` → score → :class:`SampleResult` → report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from evalkit.errors import MissingField

__all__ = [
    "Box",
    "Completion",
    "GenerationParams",
    "ImagePart",
    "ImageRef",
    "Message",
    "Prediction",
    "Request",
    "Sample",
    "SampleResult",
    "TextPart",
    "Usage",
    "option_index",
    "option_letter",
    "option_letters",
]

Box = tuple[float, float, float, float]
"""A box as pixel corners ``(x1, y1, x2, y2)``."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One image: the dataset's original encoded bytes (never re-encoded), or an http(s) URL.

    A URL image is passed to the server as it is: evalkit never fetches it, so its bytes are
    empty and its size unknown (``None``).
    """

    data: bytes
    """The encoded file (JPEG, PNG, ...) exactly as stored in the dataset."""
    width: int | None
    """Width in pixels, read from the header; ``None`` for a URL image."""
    height: int | None
    """Height in pixels, read from the header; ``None`` for a URL image."""
    format: str
    """PIL format name, e.g. ``JPEG`` or ``PNG``; empty for a URL image."""
    url: str | None = None
    """The http(s) URL the server should fetch, when the dataset gives one instead of bytes."""
    _sha256: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def size_only(cls, width: int, height: int) -> ImageRef:
        """An image known only by its size, as a result row records it (rescoring boxes)."""
        return cls(data=b"", width=width, height=height, format="")

    def pixel_size(self) -> tuple[int, int]:
        """``(width, height)``; a URL image has none, which grounding cannot do without."""
        if self.width is None or self.height is None:
            raise MissingField(
                f"image {self.url} has no known size (evalkit does not fetch URL images); "
                "grounding needs the image bytes or a local path"
            )
        return self.width, self.height

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes: the image's identity in cache keys (hashed once)."""
        if self._sha256 is None:
            object.__setattr__(self, "_sha256", hashlib.sha256(self.data).hexdigest())
        assert self._sha256 is not None
        return self._sha256

    @property
    def mime(self) -> str:
        """MIME type for data URLs, e.g. ``image/png``."""
        return f"image/{self.format.lower()}"


def option_letter(index: int) -> str:
    """The letter of a multiple-choice option: ``A`` is option 0.

    >>> option_letter(2)
    'C'
    """
    return chr(ord("A") + index)


def option_index(letter: str) -> int:
    """The position of option ``letter`` (``A`` → 0); ``ValueError`` when it is not one.

    >>> option_index("C")
    2
    """
    if len(letter) != 1 or not "A" <= letter <= "Z":
        raise ValueError(f"not an option letter: {letter!r}")
    return ord(letter) - ord("A")


def option_letters(n: int) -> list[str]:
    """The letters of ``n`` options: ``A``, ``B``, ...

    >>> option_letters(3)
    ['A', 'B', 'C']
    """
    return [option_letter(i) for i in range(n)]


@dataclass(frozen=True, slots=True)
class Sample:
    """One evaluation item, already mapped from the dataset's columns."""

    id: str
    """Stable identifier (the dataset's question/annotation id; ``#k`` appended when exploded)."""
    images: tuple[ImageRef, ...]
    """The images the prompt shows, in order."""
    question: str = ""
    """The question or referring expression; empty for captioning."""
    references: tuple[str, ...] = ()
    """Gold answers, reference captions, or (grounding) the referring expressions."""
    box: Box | None = None
    """Gold box in pixel corners (grounding only)."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Extra columns worth keeping (e.g. answer_type) for per-group analysis."""
    choices: tuple[str, ...] = ()
    """Multiple choice: the options, in order; the gold answer is then their letter (A, B, ...)."""
    context: str = ""
    """Text the question comes with (ScienceQA's hint); empty when there is none."""
    examples: tuple[Sample, ...] = ()
    """Solved in-context examples shown before it (``task.fewshot``), in order."""

    @property
    def answer(self) -> str:
        """The answer an example shows: its most frequent reference (the first of a tie).

        >>> Sample(id="e", images=(), references=("2", "two", "2")).answer
        '2'
        """
        if not self.references:
            return ""
        counts: dict[str, int] = {}
        for ref in self.references:
            counts[ref] = counts.get(ref, 0) + 1
        return max(counts, key=lambda ref: counts[ref])


@dataclass(frozen=True, slots=True)
class TextPart:
    """Text inside a message."""

    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image inside a message."""

    image: ImageRef
    kind: Literal["image"] = "image"


@dataclass(frozen=True, slots=True)
class Message:
    """One chat turn."""

    role: Literal["system", "user", "assistant"]
    parts: tuple[TextPart | ImagePart, ...]

    @property
    def text(self) -> str:
        """The message's text parts joined by newlines (images left out)."""
        return "\n".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class GenerationParams:
    """Output-affecting decoding parameters; ``None`` means the backend's default."""

    max_tokens: int | None = None
    min_tokens: int | None = None
    """Fewest new tokens (Qwen-VL's eval_mm sets ``min_new_tokens``); not every API has it."""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()
    repetition_penalty: float | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """A provider-neutral request: messages plus decoding parameters."""

    sample_id: str
    messages: tuple[Message, ...]
    params: GenerationParams = GenerationParams()
    box_format: str | None = None
    """The box convention the prompt asks the answer in, when it asks for a box (what the
    baseline writes the whole image in); not part of the cache key, the prompt text is."""

    @property
    def prompt(self) -> str:
        """The prompt as the report shows it: the system turn and the last user turn.

        That is the question asked; in-context examples before it are recorded by id.
        """
        users = [m for m in self.messages if m.role == "user"]
        shown = [m for m in self.messages if m.role == "system"] + users[-1:]
        return "\n".join(m.text for m in shown)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the server reports them; ``None`` means not reported.

    Usage is summable, so totals are ``sum(usages, Usage())``:

    >>> Usage(10, 2, None) + Usage(5, 1, 4)
    Usage(input_tokens=15, output_tokens=3, image_tokens=4)
    """

    input_tokens: int | None = None
    """Prompt tokens, image tokens included (as servers bill them)."""
    output_tokens: int | None = None
    """Generated tokens."""
    image_tokens: int | None = None
    """The image share of ``input_tokens`` where the server reports it (DashScope)."""

    def __add__(self, other: Usage) -> Usage:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return Usage(
            add(self.input_tokens, other.input_tokens),
            add(self.output_tokens, other.output_tokens),
            add(self.image_tokens, other.image_tokens),
        )

    def __radd__(self, other: object) -> Usage:
        if other == 0:  # lets the builtin sum() start from 0
            return self
        return NotImplemented


@dataclass(frozen=True, slots=True)
class Completion:
    """What a backend returned for one request."""

    text: str
    """The generated text, as returned."""
    usage: Usage = Usage()
    finish_reason: str | None = None
    """``stop``, ``length``, ... as the server says; ``None`` when unknown."""
    latency_s: float = 0.0
    """Wall time of the successful attempt, in seconds."""
    attempts: int = 1
    """How many attempts it took (1 = no retry)."""
    ttft_s: float | None = None
    """Time to the first generated text of a streamed answer, in seconds; ``None`` unstreamed."""
    batch_size: int | None = None
    """How many requests a local backend generated together with this one (``None``: an API)."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """A completion parsed into what the scorer compares."""

    answer: str
    """The answer or caption text after light clean-up (the scorer normalises further)."""
    box: Box | None = None
    """Predicted box in pixel corners (grounding); ``None`` when nothing parseable."""
    parsed: bool = True
    """False when the text held nothing of the shape the parser reads (no box, no option):
    such a prediction is scored (0) and counted as unparsed."""
    judged: float | None = None
    """A grader judge's score of the answer (MM-Vet's correctness), read by ``grade``."""
    judged_reference: float | None = None
    """The same judge's score of the reference answer, when it grades both (LLaVA-Bench)."""


@dataclass(frozen=True, slots=True)
class SampleResult:
    """Everything the report keeps about one sample: a success or an error row."""

    sample: Sample
    request: Request | None
    completion: Completion | None
    prediction: Prediction | None
    scores: Mapping[str, float]
    error_type: str | None = None
    error: str | None = None
    cache_hit: bool = False
    """The completion came from the response cache (no request was sent)."""
    cost: float | None = None
    """What the answer cost (cached: what it would have cost), settled once by the call path;
    ``None`` when unanswered or unpriced."""
    stop: str | None = None
    """Set when the failure cannot be about this sample (a bad key, a wrong URL, a dead
    server): why the whole run must stop, with what to check."""
    judge: Any = None
    """The judge's :class:`~evalkit.judge.judge.JudgeOutcome`, when the run has a judge."""

    @property
    def ok(self) -> bool:
        """True when the sample was answered and scored."""
        return self.error_type is None
