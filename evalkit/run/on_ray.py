"""``runner=ray``: the run's shards evaluated by Ray workers, merged into the run's folder.

Ray is an engine evalkit runs on, not one it imitates: the driver cuts the run into
``runner.shards`` deterministic shards (:mod:`evalkit.dataset.shards`), starts
``runner.workers`` actors (each holds one backend: a ``backend=hf`` replica on the GPU Ray
gives it, a server ``backend.serve`` starts, or an API client) and hands them the shards
through Ray's :class:`~ray.util.ActorPool`. Actors, not Ray Data: a shard is a whole evalkit
run (its folder, its journal, its cache), which a pool of long-lived actors maps onto
directly, without Ray Data's fixed seconds per execution or its read and write tasks that
actors left at ``num_cpus=1`` starve on a small machine (they hang without a warning). Each
actor asks for ``runner.cpus_per_worker`` (0.5) CPUs, so Ray's own tasks keep room.

A worker that dies is restarted by Ray, which runs its shard again; the shard starts over in
a fresh folder and its answers already received come from the cache, so a SIGKILL costs the
requests that were in flight, never a lost or a duplicated row. At the end the driver merges
the shards (:func:`evalkit.run.merge.merge`) into the run folder it claimed, as a plain run
would have written it, and prints ``results: RUN``.

On one machine every worker shares the response cache (SQLite in WAL mode, as two runs do).
Joining a cluster (``runner.address``), each shard keeps its own cache file beside its folder
(WAL is not for network filesystems) and the driver brings their answers into the user's
cache by key, so a rerun sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

from evalkit.config import ApiConfig, CacheMode, HFConfig, RunConfig, ShardConfig
from evalkit.errors import ConfigError, EvalkitError
from evalkit.redact import LOG_FORMAT, RedactingFormatter
from evalkit.run.pipeline import RunOutcome
from evalkit.runfolder.manifest import MANIFEST_NAME, read_manifest, write_manifest

__all__ = ["ShardWorker", "run_on_ray"]

_log = logging.getLogger("evalkit")

SHARDS_DIR = "shards"
"""Where a Ray run keeps its shards' folders, inside its own (gone once merged, unless
``runner.keep_shards``)."""

DEFAULT_CPUS = 0.5
SHARDS_PER_WORKER = 4
RESTARTS = 3
"""How often Ray restarts a dead worker (and runs its shard again) before the shard is lost."""


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "runner=ray needs Ray: pip install -e '.[ray]' in evalkit's clone "
            "(or pip install 'ray>=2.50'); runner=local runs without it"
        ) from None
    return ray


class ShardWorker:
    """One Ray worker: one backend, held open, evaluating the shards it is handed in turn."""

    def __init__(
        self, cfg: RunConfig, overrides: list[str], own_cache: bool, cwd: str | None
    ) -> None:
        self.cfg = cfg
        self.overrides = overrides
        self.own_cache = own_cache
        if cwd is not None:  # a worker on the driver's machine reads its relative paths
            os.chdir(cwd)
        self.loop = asyncio.new_event_loop()
        self.backend: Any = None
        self.served: Any = None

    def pid(self) -> int:
        """This worker's process id (tests kill one)."""
        return os.getpid()

    def _open(self, folder: Path) -> Any:
        """The worker's backend, opened on its first shard (a server started for it, if any)."""
        if self.backend is None:
            from evalkit.backends import build_backend
            from evalkit.backends.serve import serve

            config = self.cfg.backend
            if isinstance(config, ApiConfig) and config.serve:
                log = folder.parent.parent / f"server-{os.getpid()}.log"  # in the run folder
                config, self.served = self.loop.run_until_complete(serve(config, log))
            self.backend = build_backend(config)
        return self.backend

    def run_shard(self, index: int, count: int, folder: str) -> dict[str, Any]:
        """Evaluate shard ``index`` of ``count`` into ``folder``; what the driver needs of it."""
        from evalkit.run import pipeline

        path = Path(folder)
        attempts = _attempt(path)
        if (path / MANIFEST_NAME).is_file() and not read_manifest(path).get("aborted"):
            return {"index": index, "path": folder, "error": None}  # done before a worker died
        if path.exists():
            shutil.rmtree(path)  # an attempt cut short: what it received is in the cache
        path.mkdir(parents=True)
        cfg = replace(self.cfg, shard=ShardConfig(count=count, index=index))
        if self.own_cache and cfg.cache.mode is not CacheMode.off:  # the run's cache: read only
            cfg = replace(cfg, cache=replace(cfg.cache, path=str(_cache_file(path)),
                                             read_also=cfg.cache.path))  # fmt: skip
        handler = logging.FileHandler(path / "evalkit.log", delay=True)
        handler.setFormatter(RedactingFormatter(LOG_FORMAT))  # as the run's own evalkit.log
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        error = None
        try:
            backend = self._open(path)
            self.loop.run_until_complete(
                pipeline.run(cfg, path, overrides=self.overrides, backend=backend)
            )
        except EvalkitError as exc:
            error = str(exc)
        finally:
            root.removeHandler(handler)
            handler.close()
        if (path / MANIFEST_NAME).is_file():
            manifest = read_manifest(path)
            record = dict(manifest.get("shard") or {})
            record.update(attempts=attempts, worker=os.getpid(), host=socket.gethostname())
            write_manifest(path, {**manifest, "shard": record})
        return {"index": index, "path": folder, "error": error}

    def close(self) -> None:
        """Close the backend and stop its server."""
        if self.backend is not None:
            self.loop.run_until_complete(self.backend.aclose())
        if self.served is not None:
            from evalkit.backends.serve import stop_server

            stop_server(self.served)


def _attempt(path: Path) -> int:
    """This attempt's number at shard ``path`` (counted in a file beside it)."""
    counter = path.with_name(f"{path.name}.attempts")
    previous = int(counter.read_text() or 0) if counter.is_file() else 0
    counter.parent.mkdir(parents=True, exist_ok=True)
    counter.write_text(str(previous + 1))
    return previous + 1


def _cache_file(path: Path) -> Path:
    """A shard's own cache file (beside its folder: a retried shard starts a fresh folder)."""
    return path.with_name(f"{path.name}.cache.sqlite")


def _is_hf(cfg: RunConfig) -> bool:
    return isinstance(cfg.backend, HFConfig)


def _plan(cfg: RunConfig, gpus_in_cluster: float) -> tuple[int, int, float, float]:
    """Workers, shards, CPUs and GPUs per worker."""
    runner = cfg.runner
    gpus = runner.gpus_per_worker
    if gpus is None:
        gpus = 1.0 if _is_hf(cfg) and gpus_in_cluster >= 1 else 0.0
    workers = runner.workers
    if workers is None:
        workers = max(1, int(gpus_in_cluster // gpus)) if _is_hf(cfg) and gpus else 1
    shards = runner.shards or SHARDS_PER_WORKER * workers
    return workers, shards, runner.cpus_per_worker or DEFAULT_CPUS, gpus


def _split_limits(cfg: RunConfig, workers: int) -> RunConfig:
    """Each worker's share of an API backend's limits (the run's are for all of them)."""
    if workers == 1 or not isinstance(cfg.backend, ApiConfig):
        return cfg
    limits = cfg.limits

    def share(value: int | None) -> int | None:
        return None if value is None else max(1, value // workers)

    split = replace(limits, concurrency=max(1, limits.concurrency // workers),
                    rpm=share(limits.rpm), tpm=share(limits.tpm))  # fmt: skip
    _log.info("runner=ray: %d workers share the limits: each sends at most %d at once%s%s",
              workers, split.concurrency, f", {split.rpm} a minute" if split.rpm else "",
              f", {split.tpm} tokens a minute" if split.tpm else "")  # fmt: skip
    return replace(cfg, limits=split)


def _check(cfg: RunConfig) -> None:
    """What can be refused before Ray starts."""
    workers = cfg.runner.workers
    if (
        cfg.limits.max_cost is not None
        and (workers is None or workers > 1)
        and not (isinstance(cfg.backend, ApiConfig) and workers is None)
    ):
        raise ConfigError(
            "limits.max_cost is one budget for the whole run, which several Ray workers "
            "cannot share: use runner.workers=1 (an API backend's limit is its rate, not one "
            "machine), or leave limits.max_cost out"
        )
    address = cfg.runner.address
    if address is not None and not Path(cfg.results_dir).is_absolute():
        raise ConfigError(
            f"runner.address={address}: the workers write where results_dir points on their "
            f"own machines, and results_dir={cfg.results_dir} is relative to this one; give a "
            "path every node sees (results_dir=/shared/results)"
        )


def run_on_ray(cfg: RunConfig, run_dir: Path, *, overrides: list[str]) -> RunOutcome:
    """Evaluate ``cfg`` on Ray into ``run_dir`` (claimed by the caller); the merged outcome."""
    from evalkit.cache import cache_path
    from evalkit.run.merge import merge

    _check(cfg)
    ray = _ray()
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": logging.WARNING}  # fmt: skip
        if cfg.runner.address is not None:
            kwargs["address"] = cfg.runner.address
        ray.init(**kwargs)
        started = True
    try:
        gpus_in_cluster = float(ray.cluster_resources().get("GPU", 0))
        workers, count, cpus, gpus = _plan(cfg, gpus_in_cluster)
        worker_cfg = _split_limits(cfg, workers)
        worker_cfg = replace(worker_cfg, report=replace(cfg.report, progress=False, table=False))
        if cfg.cache.mode is not CacheMode.off:  # the driver's cache, wherever a worker starts
            worker_cfg = replace(worker_cfg, cache=replace(
                cfg.cache, path=str(cache_path(cfg.cache.path).resolve())))  # fmt: skip
        if cfg.runner.address is not None and cfg.cache.mode is CacheMode.use:
            _checkpoint(cfg)  # the shards read it without locks: every answer in the file
        root = run_dir.resolve() / SHARDS_DIR
        root.mkdir(parents=True, exist_ok=True)
        own_cache = cfg.runner.address is not None
        actor = ray.remote(ShardWorker).options(
            num_cpus=cpus, num_gpus=gpus, max_restarts=RESTARTS, max_task_retries=RESTARTS
        )
        cwd = None if own_cache else os.getcwd()
        actors = [actor.remote(worker_cfg, overrides, own_cache, cwd) for _ in range(workers)]
        _log.info("runner=ray: %d shards on %d workers (%g CPU%s each)", count, workers,
                  cpus, f", {gpus:g} GPU" if gpus else "")  # fmt: skip
        done, lost = _evaluate(ray, actors, count, root)
        for handle in actors:
            try:
                ray.get(handle.close.remote())
            except Exception:  # a worker lost for good has nothing to close
                _log.debug("a worker could not be closed", exc_info=True)
        if own_cache and cfg.cache.mode is not CacheMode.off:
            _import_caches(cfg, [_cache_file(root / str(k)) for k in range(count)])
        record = {"config": cfg, "overrides": overrides,
                  "runner": {"name": "ray", "workers": workers, "shards": count,
                             "cpus_per_worker": cpus, "gpus_per_worker": gpus,
                             "address": cfg.runner.address, "ray": ray.__version__}}  # fmt: skip
        sealed = [root / str(k) for k in sorted(done) if (root / str(k) / MANIFEST_NAME).is_file()]
        if not sealed:
            raise EvalkitError(f"runner=ray: no shard finished ({'; '.join(lost) or 'no reason'})")
        merged = merge(sealed, run_dir, into=True, record=record)
    finally:
        if started:
            ray.shutdown()
    if not cfg.runner.keep_shards:
        shutil.rmtree(root, ignore_errors=True)
    if cfg.report.table:
        from evalkit.runfolder.summary import format_table

        print(format_table(merged.task, merged.summary))
        print(f"samples: {merged.n_samples}  shards: {merged.parts} of {merged.count} on "
              f"{workers} Ray workers")  # fmt: skip
    if merged.incomplete:
        raise EvalkitError(f"{merged.incomplete}; {'; '.join(lost)}" if lost else merged.incomplete)
    return RunOutcome(run_dir, merged.run_id, merged.n_samples, merged.n_failed, merged.summary)


def _evaluate(ray: Any, actors: list[Any], count: int, root: Path) -> tuple[set[int], list[str]]:
    """Hand the shards to the workers (Ray's actor pool); the shards done and why others not."""
    from ray.util import ActorPool

    pool = ActorPool(actors)
    for k in range(count):
        pool.submit(lambda a, k: a.run_shard.remote(k, count, str(root / str(k))), k)
    done: set[int] = set()
    lost: list[str] = []
    while pool.has_next():  # type: ignore[no-untyped-call]
        try:
            result = pool.get_next_unordered()
        except ray.exceptions.RayError as exc:  # a worker lost more often than Ray restarts it
            lost.append(str(exc).strip().splitlines()[0])
            continue
        if result["error"]:
            lost.append(f"shard {result['index']}: {result['error']}")
        done.add(int(result["index"]))
        _log.info("runner=ray: shard %d done (%d of %d)%s", result["index"], len(done), count,
                  f": {result['error']}" if result["error"] else "")  # fmt: skip
    return done, lost


def _checkpoint(cfg: RunConfig) -> None:
    from evalkit.cache import ResponseCache, cache_path

    path = cache_path(cfg.cache.path)
    if path.is_file():
        cache = ResponseCache(path)
        try:
            cache.checkpoint()
        finally:
            cache.close()


def _import_caches(cfg: RunConfig, files: list[Path]) -> None:
    """The shards' own cache files, brought into the run's cache by key."""
    from evalkit.cache import ResponseCache, cache_path

    cache = ResponseCache(cache_path(cfg.cache.path))
    try:
        added = sum(cache.import_from(f) for f in files if f.is_file())
    finally:
        cache.close()
    _log.info("runner=ray: %d answers from the shards' caches added to %s", added, cache.path)
