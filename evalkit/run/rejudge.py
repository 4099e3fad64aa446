"""``evalkit rejudge RUN judge=...``: a finished run's answers judged again, by another judge.

The model is not asked again: the new run replays the first one's answers
(``backend=replay backend.format=evalkit``, its ``JudgeFailed`` rows' answers included) over
the same task and data, with the judge the overrides give, and writes a new run folder (the
first stays as it was) that ``evalkit compare`` can hold against the first. Its ``run.json``
says which run it re-judged (``rejudged``).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalkit.compose import compose
from evalkit.config import ReplayConfig, RunConfig, RunnerConfig, ShardConfig
from evalkit.errors import ConfigError
from evalkit.run.pipeline import RunOutcome, run
from evalkit.runfolder.manifest import MANIFEST_NAME, write_manifest
from evalkit.runfolder.read import RunFolder, read_run

__all__ = ["rejudge", "rejudge_config"]


def rejudge_config(folder: RunFolder, overrides: list[str]) -> RunConfig:
    """The config that judges the run ``folder``'s answers again with the ``overrides``' judge.

    Only ``judge=...`` and ``judge.*`` (and ``+pricing.models.*`` for the judge's price) are
    taken: everything else is the first run's, so the two runs differ by their judge alone.
    """
    other = [o for o in overrides
             if not o.lstrip("+~").startswith(("judge=", "judge.", "pricing."))]  # fmt: skip
    if other:
        raise ConfigError(
            f"rejudge takes judge=... and judge.* (and +pricing.models.*) only, got '{other[0]}': "
            "the answers, task and data are the run's"
        )
    if not any(o.startswith("judge=") for o in overrides):
        raise ConfigError("rejudge needs the judge: add judge=openai (or dashscope, hf, stand_in)")
    first = folder.config
    if first.task.judge is None:
        raise ConfigError(f"task '{first.task.name}' has no judge protocol: nothing to re-judge")
    composed = compose([f"task={first.task.name}", *overrides])
    model = folder.manifest.get("backend", {}).get("model") or first.backend.model
    backend = ReplayConfig(name="replay", model=str(model), predictions=str(folder.path),
                           format="evalkit", prompt_family=first.backend.prompt_family,
                           box_format=first.backend.box_format)  # fmt: skip
    return replace(first, backend=backend, judge=composed.judge, pricing=composed.pricing,
                   shard=ShardConfig(), runner=RunnerConfig())  # fmt: skip


def rejudge(source: str | Path, overrides: list[str], output: str | Path | None = None,
            ) -> RunOutcome:  # fmt: skip
    """Judge the answers of the run folder ``source`` again; the new folder is ``output``.

    ``output`` defaults to ``<source>-rejudged-<time>`` beside it; it must not exist yet.
    """
    source = Path(source)
    if not (source / MANIFEST_NAME).is_file():
        raise ConfigError(f"{source} is not a finished run folder (no {MANIFEST_NAME})")
    folder = read_run(source)
    cfg = rejudge_config(folder, overrides)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    beside = source.with_name(f"{source.name}-rejudged-{stamp}")
    out = Path(output) if output is not None else beside
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty: give another -o")
    first_id = folder.manifest.get("run_id")
    outcome = asyncio.run(run(cfg, out, overrides=["rejudge", str(source), *overrides]))
    manifest: dict[str, Any] = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["rejudged"] = {"run_id": first_id, "folder": str(source)}
    write_manifest(out, manifest)
    return outcome
