from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from evalkit.compose import compose
from evalkit.config import RunConfig
from evalkit.run import pipeline
from evalkit.testing.fake_server import FakeVLMServer

ROOT = Path(__file__).resolve().parent.parent

# Tests never reach a hub: the datasets library must stay offline.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
# ...and never touch the user's response cache (each test gets its own, below).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="evalkit-test-cache-")


def compose_run(overrides: Sequence[str] = ()) -> RunConfig:
    """Compose the run config as the CLI does (the one public ``compose``)."""
    return compose(overrides)


@pytest.fixture(autouse=True)
def _own_cache_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh default cache folder per test, so no test answers from another's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def run_eval(tmp_path: Path) -> Callable[..., pipeline.RunOutcome]:
    """Run the pipeline in-process on a composed config, quietly, into tmp_path."""

    def _run(*overrides: str) -> pipeline.RunOutcome:
        cfg = compose_run(["report.progress=false", "report.table=false", *overrides])
        run_dir = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        return asyncio.run(pipeline.run(cfg, run_dir, overrides=list(overrides)))

    return _run


FOLDER_COMMANDS = ("compare", "report", "rescore", "merge", "rejudge")
"""Commands over run folders: they take no overrides."""


def predictions_file(path: Path, replies: Iterable[tuple[str, str]],
                     id_column: str = "sample_id") -> Path:  # fmt: skip
    """``replies`` (id, prediction) as the JSON lines ``backend=replay`` reads, in their order."""
    import json

    path.write_text("".join(json.dumps({id_column: i, "prediction": r}) + "\n"
                            for i, r in replies))  # fmt: skip
    return path


def judged_on_loopback(server: FakeVLMServer, task: str, *extra: str) -> list[str]:
    """``task`` asked of the loopback server's model ``vlm`` and judged by its ``judge-2024-01-01``."""
    return [f"task={task}", "backend=openai", f"backend.base_url={server.openai_url}",
            "backend.model=vlm", "backend.api_key_env=null", "judge=openai",
            "judge.model=judge-2024-01-01", f"judge.base_url={server.openai_url}",
            "judge.api_key_env=null", *extra]  # fmt: skip


def cli_argv(args: Sequence[str], results: Path) -> list[str]:
    """``args`` as the tests run them: results under ``results`` and no progress bar, unless
    the args say otherwise; a command over run folders as it is."""
    if args and args[0] in FOLDER_COMMANDS:
        return list(args)
    # a subcommand and flags (-m, --cfg job) come first, then the overrides
    given = {a.partition("=")[0] for a in args}
    return [*args, *([] if "results_dir" in given else [f"results_dir={results}"]),
            *([] if "report.progress" in given else ["report.progress=false"])]  # fmt: skip


def exit_status(exc: SystemExit) -> int:
    """The status a process exiting with ``exc`` reports (``None``: 0; a message: 1)."""
    if exc.code is None:
        return 0
    return exc.code if isinstance(exc.code, int) else 1


def results_of(proc: subprocess.CompletedProcess[str], cwd: Path) -> Path:
    """The run folder a run's ``results: PATH`` line names (relative to ``cwd``)."""
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("results: "))
    return cwd / line.removeprefix("results: ")


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m evalkit ARGS`` in ``cwd``, results under ``cwd/results`` unless given."""
    cmd = [sys.executable, "-m", "evalkit", *cli_argv(args, cwd / "results")]
    full = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=full, timeout=300)


def main_in_process(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """The command line's ``main`` in this process, results under ``tmp_path/results``, as
    :func:`run_cli` reports a new process's (exit status, stdout, stderr): for checks that need
    no new process, e.g. once torch is loaded, or many bad inputs."""
    from evalkit.cli import main

    capsys.readouterr()
    argv = cli_argv(args, tmp_path / "results")
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exit_status(exc)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, out.out, out.err)


def main_here(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """:func:`run_cli` in this process: the command line's ``main`` in ``cwd`` with ``env``
    added, its output captured (usable where ``capsys`` is not: module-scoped fixtures)."""
    import contextlib
    import io

    from evalkit.cli import main

    argv = cli_argv(args, cwd / "results")
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.chdir(cwd), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):  # fmt: skip
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exit_status(exc)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def run_main(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str]:
    """:func:`main_in_process`'s exit status and stderr."""
    proc = main_in_process(capsys, tmp_path, *args)
    return proc.returncode, proc.stderr


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m evalkit`` as a user would, with results under tmp_path."""

    def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, cwd=tmp_path, env=env)

    return _cli


class lazy_import:  # noqa: N801 (stands for a module)
    """A module imported when a test first uses it, skipping that test when it is missing:
    ``pytest.importorskip`` at a module's top would import it (scipy, statsmodels: seconds)
    in every test process while collecting, whether or not a test of it runs there."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("_") or attr.startswith("pytest"):  # collection looking, not a test
            raise AttributeError(attr)
        return getattr(pytest.importorskip(self._name), attr)


@pytest.fixture(scope="session", autouse=True)
def _one_meteor_jvm_per_worker() -> Iterator[None]:
    """evalkit keeps its METEOR JVM (about 12 s to start here) for the next caption scoring
    within a minute; a test process keeps it for the whole session (closed at exit)."""
    from evalkit.score import captions

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(captions, "IDLE_S", 3600.0)
        yield


@pytest.fixture(scope="session")
def reference_meteor(_one_meteor_jvm_per_worker: None) -> Iterator[object]:
    """pycocoevalcap's own ``Meteor`` code, for the tests that hold evalkit's METEOR against it.

    It talks to the METEOR JVM evalkit keeps in this test process (the same jar, started with
    the same command line), taken under evalkit's own lock: a second JVM would cost about 14 s
    of CPU for the same program.
    """
    from pycocoevalcap.meteor.meteor import Meteor

    from evalkit.score import captions

    class Reference(Meteor):  # type: ignore[misc]
        def __init__(self) -> None:
            self.lock = threading.Lock()

        def compute_score(self, gts: Any, res: Any) -> Any:
            with captions._METEOR.session() as jvm:
                self.meteor_p = jvm._proc
                return super().compute_score(gts, res)

        def __del__(self) -> None:  # the JVM is evalkit's: it closes it
            pass

    yield Reference()


@pytest.fixture(scope="session")
def fake_server_session() -> Iterator[FakeVLMServer]:
    """The loopback VLM server, one per test session."""
    server = FakeVLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(fake_server_session: FakeVLMServer) -> FakeVLMServer:
    """The loopback server with its faults, answers and request log reset."""
    fake_server_session.reset()
    return fake_server_session


FIRST = (
    "tests/run/test_on_ray.py",  # one Ray instance and two torch processes: tens of seconds
    "tests/score/test_scorers.py::test_caption_scores_match_pycocoevalcap",
    "tests/compare/test_compare.py::test_caption_metrics_are_resampled_on_both_sides",
    "tests/test_ci_example.py",
    "tests/backends/test_hf.py",
    "tests/run/test_interrupt.py",
    "tests/cache/test_cached_runs.py",
    "tests/backends/test_serve.py",
    "tests/test_analysis.py",
)
"""The longest tests (a METEOR JVM's start, a tiny model, whole processes), collected first: a
worker that starts one late would leave the other idle at the end (``make test``'s wall time)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next((k for k, p in enumerate(FIRST) if item.nodeid.startswith(p)), len(FIRST))

    items.sort(key=rank)  # stable: the order within each rank is the collected one
