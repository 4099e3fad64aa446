"""Asking the judge about one answer, and keeping account of it for ``run.json``.

:func:`open_judge` builds the run's judge from the ``judge`` group and the task's protocol:
its own backend, price, limits and call path. The call path is the model's (cache, retries,
rate limits, cost) with the protocol's ``template_sha256`` in every cache key, so the same
answer judged again by the same judge with the same prompt costs nothing, and a changed
prompt is never served an old verdict. :meth:`Judge.ask` asks about one answer (each of
``judge.repeats``, each with the protocol's second prompt when the first verdict cannot be
read) and :class:`JudgeTally` adds it up.
"""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evalkit.backends.base import Backend, BackendIdentity
from evalkit.backends.serve import serving
from evalkit.cache import ResponseCache
from evalkit.config import (
    ApiConfig,
    BackendConfig,
    CacheMode,
    JudgeMode,
    JudgeSettings,
    LimitsConfig,
    Price,
    RunConfig,
)
from evalkit.cost import table_price
from evalkit.errors import BackendError, BudgetExhausted
from evalkit.judge.backends import build_judge_backend
from evalkit.judge.protocols import PROTOCOLS, JudgeProtocol, JudgeQuery, Verdict
from evalkit.records import (
    GenerationParams,
    Message,
    Prediction,
    Request,
    Sample,
    TextPart,
    Usage,
)
from evalkit.run.call import CallPath

__all__ = [
    "Judge",
    "JudgeOutcome",
    "JudgeTally",
    "floating_alias",
    "judge_line",
    "judge_mode",
    "open_judge",
    "share",
]

log = logging.getLogger("evalkit")

_PINNED = re.compile(r"\d{8}|\d{4}-\d{2}-\d{2}|-\d{4}(?:$|-)|@\d")
"""A dated snapshot in a model name: ``-2024-07-18``, ``-20240620``, ``-0613``, ``@001``."""


def floating_alias(identity: BackendIdentity) -> bool:
    """Whether the judge's model name may point at another model tomorrow.

    An API model without a date (``gpt-4o``, ``qwen-max``, ``*-latest``) and a checkpoint id
    without ``judge.revision`` float; a dated snapshot, a revision or the stand-in do not.

    >>> names = ["gpt-4o", "gpt-4o-mini-2024-07-18", "gpt-4-0613", "qwen-max", "qwen-max-latest"]
    >>> [floating_alias(BackendIdentity("openai", n)) for n in names]
    [True, False, False, True, True]
    """
    if identity.name == "stand_in" or identity.revision:
        return False
    if identity.name == "hf":
        return True
    return _PINNED.search(identity.model) is None


def judge_mode(cfg: RunConfig) -> JudgeMode:
    """The run's judge mode: ``judge.mode``, else the task's; ``off`` without a judge."""
    if cfg.task.judge is None or cfg.judge.name == "none":
        return JudgeMode.off
    return cfg.judge.mode or cfg.task.judge.mode


@dataclass(frozen=True, slots=True)
class JudgeOutcome:
    """What the judge said about one answer (or that it was not asked)."""

    asked: bool
    verdict: Verdict | None = None
    scores: tuple[float, ...] = ()
    """A grader's score in each repeat."""
    output: str | None = None
    """The judge's text (the first repeat's last answer)."""
    usage: Usage = Usage()
    cost: float | None = None
    """What its requests cost (cached: would have cost); ``None`` when unpriced."""
    cache_hit: bool = False
    """Every verdict came from the cache."""
    requests: int = 0
    error: str | None = None
    """Why there is no verdict (``JudgeFailed`` rows)."""
    stop: str | None = None
    """Set when no judge request can succeed (a bad key, a dead server): the run stops."""


@dataclass
class JudgeTally:
    """The run's judge totals."""

    answers: int = 0
    """Answers the judge could have been asked about."""
    asked: int = 0
    judged: int = 0
    failed: int = 0
    requests: int = 0
    hits: int = 0
    usage: Usage = Usage()
    spent: float = 0.0
    saved: float = 0.0
    agreed: int = 0
    """Judged answers whose repeats all gave the same verdict."""
    spreads: list[float] = field(default_factory=list)
    """Each judged answer's standard deviation over its repeats (grades, repeats > 1)."""

    def add(self, outcome: JudgeOutcome) -> None:
        """Count one answer's outcome."""
        self.answers += 1
        if not outcome.asked:
            return
        self.asked += 1
        self.requests += outcome.requests
        self.usage = self.usage + outcome.usage
        if outcome.cost is not None:
            if outcome.cache_hit:
                self.saved += outcome.cost
            else:
                self.spent += outcome.cost
        self.hits += outcome.cache_hit
        if outcome.verdict is None:
            self.failed += 1
            return
        self.judged += 1
        if len(set(outcome.scores)) <= 1:
            self.agreed += 1
        if len(outcome.scores) > 1:
            self.spreads.append(statistics.pstdev(outcome.scores))


class Judge:
    """The run's judge: one protocol, one backend, its call path and its tally."""

    def __init__(
        self, protocol: JudgeProtocol, settings: JudgeSettings, mode: JudgeMode,
        calls: CallPath, price: Price | None,
    ) -> None:  # fmt: skip
        self.protocol, self.settings, self.mode = protocol, settings, mode
        self.calls, self.price = calls, price
        self.tally = JudgeTally()
        assert isinstance(settings, BackendConfig), "a judge with a model has a backend's fields"
        self.params = GenerationParams(
            max_tokens=settings.max_tokens or protocol.max_tokens,
            temperature=settings.temperature,
            top_p=settings.top_p,
            top_k=settings.top_k,
            seed=settings.seed,
            stop=tuple(settings.stop),
        )

    @property
    def backend(self) -> Backend:
        """The backend that judges."""
        return self.calls.backend

    def wants(self, prediction: Prediction) -> bool:
        """Whether this answer goes to the judge: always, or when the rules found nothing."""
        if self.mode is JudgeMode.always:
            return True
        return self.mode is JudgeMode.fallback and not prediction.parsed

    def _request(self, sample: Sample, prompt: str, repeat: int) -> Request:
        params = self.params
        if repeat:  # each repeat is its own request (and cache entry)
            params = replace(params, seed=(params.seed or 0) + repeat)
        user = Message("user", (TextPart(prompt),))
        system = self.protocol.system
        turns = (Message("system", (TextPart(system),)), user) if system else (user,)
        return Request(f"{sample.id}/judge", turns, params)

    async def ask(self, sample: Sample, text: str, prediction: Prediction) -> JudgeOutcome:
        """Judge ``text`` (the model's answer to ``sample``), when the mode says so."""
        if not self.wants(prediction):
            outcome = JudgeOutcome(asked=False)
            self.tally.add(outcome)
            return outcome
        query = JudgeQuery(sample.question, text, sample.references, sample.choices,
                           sample.context, sample.meta)  # fmt: skip
        prompts = self.protocol.prompts(query)
        usage, cost, hits, requests = Usage(), 0.0, True, 0
        priced = True
        verdicts: list[Verdict] = []
        output: str | None = None
        error: str | None = None
        stop: str | None = None
        for repeat in range(self.settings.repeats):
            verdict = None
            for prompt in prompts:
                try:
                    answer = await self.calls.answer(self._request(sample, prompt, repeat))
                except (BackendError, BudgetExhausted) as exc:
                    error = f"judge request failed: {exc.kind}: {exc}"
                    if isinstance(exc, BackendError) and exc.wholesale:
                        hint = self.backend.explain(exc)
                        stop = f"the judge: {exc.kind}: {exc}" + (f"; {hint}" if hint else "")
                    break
                requests += 1
                usage = usage + answer.completion.usage
                hits = hits and answer.cache_hit
                if answer.cost is None:
                    priced = False
                else:
                    cost += answer.cost
                if repeat == 0:
                    output = answer.completion.text
                verdict = self.protocol.read(answer.completion.text, query)
                if verdict is not None:
                    break
            if error is not None:
                break
            if verdict is None:
                shown = " ".join((output or "").split())[:80]
                error = (f"no verdict in the judge's answer '{shown}' to the {self.protocol.name} "
                         f"prompt (asked {len(prompts)} ways)")  # fmt: skip
                break
            verdicts.append(verdict)
        final: Verdict | None = None
        scores: tuple[float, ...] = ()
        if error is None and verdicts:
            if self.protocol.kind == "grade":
                scores = tuple(v.score for v in verdicts if v.score is not None)
                mean = statistics.fmean(scores)
                refs = [v.reference for v in verdicts if v.reference is not None]
                reference = statistics.fmean(refs) if refs else None
                text = verdicts[0].text if len(verdicts) == 1 else f"{mean:.4g}"
                final = Verdict(text, mean, reference)
            else:
                final = verdicts[0]
                scores = ()
        outcome = JudgeOutcome(
            asked=True, verdict=final, scores=scores, output=output, usage=usage,
            cost=cost if priced else None, cache_hit=hits and requests > 0, requests=requests,
            error=error, stop=stop,
        )  # fmt: skip
        self.tally.add(outcome)
        return outcome

    def coverage_failure(self) -> str | None:
        """Why the run fails on its judge: too few of the answers asked about got a verdict."""
        tally = self.tally
        if not tally.asked:
            return None
        coverage = tally.judged / tally.asked
        if coverage >= self.settings.min_coverage:
            return None
        return (f"the judge gave a verdict for {tally.judged} of the {tally.asked} answers it was "
                f"asked about ({coverage:.0%} < judge.min_coverage="
                f"{self.settings.min_coverage:g}); the JudgeFailed rows say why")  # fmt: skip

    def record(self) -> dict[str, Any]:
        """``run.json``'s ``judge``: who judged, with which prompt and parameters, how often."""
        tally, identity = self.tally, self.backend.identity
        floating = floating_alias(identity)
        priced = self.price is not None or not self.backend.priced
        params = self.params
        return {
            "backend": {"name": identity.name, "model": identity.model,
                        "base_url": identity.base_url, "revision": identity.revision},
            "floating_alias": floating,
            **self.protocol.describe(),
            "mode": self.mode.value,
            "repeats": self.settings.repeats,
            "params": {"max_tokens": params.max_tokens, "temperature": params.temperature,
                       "top_p": params.top_p, "top_k": params.top_k, "seed": params.seed,
                       "stop": list(params.stop)},
            "answers": tally.answers,
            "asked": tally.asked,
            "asked_rate": share(tally.asked, tally.answers),
            "judged": tally.judged,
            "failed": tally.failed,
            "coverage": share(tally.judged, tally.asked),
            "min_coverage": self.settings.min_coverage,
            "agreement": (round(tally.agreed / tally.judged, 6)
                          if tally.judged and self.settings.repeats > 1 else None),
            "mean_spread": (round(statistics.fmean(tally.spreads), 6)
                            if tally.spreads else None),
            "requests": tally.requests,
            "cache": {"hits": self.calls.tally.hits, "misses": self.calls.tally.misses},
            "usage": {"input_tokens": tally.usage.input_tokens,
                      "output_tokens": tally.usage.output_tokens},
            "cost": {"currency": self.price.currency if self.price else None,
                     "spent": round(tally.spent, 6) if priced else None,
                     "saved": round(tally.saved, 6) if priced else None},
        }  # fmt: skip


def share(part: float, whole: float) -> float | None:
    """``part / whole`` to six places, as ``run.json``'s judge rates are written; ``None`` of 0.

    >>> share(2, 3), share(0, 0)
    (0.666667, None)
    """
    return round(part / whole, 6) if whole else None


def _judge_price(cfg: RunConfig, backend: Backend) -> Price | None:
    if not backend.priced:
        return None
    model = backend.identity.model
    price = table_price(model, cfg.pricing.models)
    if price is None:
        log.warning("no price for judge model '%s' in configs/pricing.yaml: the judge's cost is "
                    "not tallied", model)  # fmt: skip
    return price


@asynccontextmanager
async def open_judge(
    cfg: RunConfig, *, cache: ResponseCache | None, cache_mode: CacheMode,
    log_dir: Path | None = None,
) -> AsyncIterator[Judge | None]:  # fmt: skip
    """The run's judge (``None`` when it has none), closed on exit.

    ``cache``: the run's response cache (the judge's entries have keys of their own). With
    ``judge.serve`` the judge's server is started first (its log ``log_dir/judge-server.log``)
    and stopped last, on errors and interrupts too, as ``backend.serve`` starts the model's.
    """
    mode = judge_mode(cfg)
    if mode is JudgeMode.off or cfg.task.judge is None:
        yield None
        return
    protocol = PROTOCOLS[cfg.task.judge.protocol]
    settings = cfg.judge
    if not isinstance(settings, ApiConfig):
        async with _judge(cfg, settings, protocol, mode, cache, cache_mode) as judge:
            yield judge
        return
    async with (
        serving(settings, log_dir, "judge-server.log") as started,
        _judge(cfg, started, protocol, mode, cache, cache_mode) as judge,
    ):
        yield judge


@asynccontextmanager
async def _judge(
    cfg: RunConfig, settings: JudgeSettings, protocol: JudgeProtocol, mode: JudgeMode,
    cache: ResponseCache | None, cache_mode: CacheMode,
) -> AsyncIterator[Judge]:  # fmt: skip
    backend = build_judge_backend(settings)
    try:
        bind = getattr(backend, "bind", None)
        if callable(bind):  # the stand-in answers by its protocol's rule
            bind(protocol)
        price = _judge_price(cfg, backend)
        if floating_alias(backend.identity):
            log.warning(
                "judge model '%s' is a floating alias: the model behind it may change, and its "
                "verdicts with it; name a dated snapshot or set judge.revision",
                backend.identity.model,
            )
        limits = LimitsConfig(concurrency=settings.concurrency, rpm=settings.rpm,
                              max_retries=settings.max_retries, timeout_s=settings.timeout_s,
                              max_error_rate=None)  # fmt: skip
        calls = CallPath(
            backend,
            cache,
            cache_mode,
            price=price,
            limits=limits,
            key_options={"judge_template_sha256": protocol.template_sha256},
        )
        yield Judge(protocol, settings, mode, calls, price)
    finally:
        await backend.aclose()


def judge_line(record: dict[str, Any]) -> str:
    """The line a run prints about its judge after the table, from its ``run.json`` record.

    >>> from evalkit.config import StandInJudgeConfig
    >>> from evalkit.judge.stand_in import StandInJudge
    >>> from evalkit.judge.mmvet import MMVET
    >>> calls = CallPath(StandInJudge(StandInJudgeConfig()), None, CacheMode.off, price=None,
    ...                  limits=None)
    >>> judge_line(Judge(MMVET, StandInJudgeConfig(), JudgeMode.always, calls, None).record())
    'judge: stand_in/stand-in (mmvet, always): asked about 0 of 0 answers, 0 verdicts, 0 failed'
    """
    who, cost = record["backend"], record["cost"]
    spent = f", cost {cost['spent']:.4f} {cost['currency']}" if cost["currency"] else ""
    return (f"judge: {who['name']}/{who['model']} ({record['protocol']}, {record['mode']}): "
            f"asked about {record['asked']} of {record['answers']} answers, "
            f"{record['judged']} verdicts, {record['failed']} failed{spent}")  # fmt: skip
