from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from .conftest import run_main

ROOT = Path(__file__).resolve().parent.parent

BAD = [
    (["task=docvq"], "unknown task 'docvq'; did you mean 'docvqa'?"),
    (["backend=baselin"], "unknown backend 'baselin'; did you mean 'baseline'?"),
    (["limits.concurency=4"], "limits has no key 'concurency'; did you mean 'concurrency'?"),
    (["dataset.limit=abc"], "bad override 'dataset.limit': Value 'abc'"),
    (["dataset.source=web"], "expected one of [sample, hf, local]"),
    (["limits=turbo"], "unknown limits option 'turbo'"),
    (["task=["], "bad override syntax"),
    (["dataset=local"], "dataset.path"),
    (["task=refcoco", "dataset.split=tesA"], "did you mean 'testA'?"),
    (["backend.prompt_family=qwen"], "did you mean 'qwen-vl'?"),
    (["limits.concurrency=0"], "limits.concurrency must be >= 1, got 0"),
    # every number is checked against its range before anything runs
    (["dataset.limit=-5"], "dataset.limit must be >= 1, got -5"),
    (["report.bootstrap=-3"], "report.bootstrap must be >= 0, got -3"),
    (["report.confidence=1.5"], "report.confidence must be in (0, 1], got 1.5"),
    (["limits.timeout_s=0"], "limits.timeout_s must be > 0, got 0"),
    (["limits.max_error_rate=2"], "limits.max_error_rate must be in [0, 1], got 2"),
    (["limits.max_retries=-1"], "limits.max_retries must be >= 0, got -1"),
    (["limits.max_cost=-0.5"], "limits.max_cost must be >= 0, got -0.5"),
    (["backend.max_tokens=0"], "backend.max_tokens must be >= 1, got 0"),
    (["backend.temperature=-0.1"], "backend.temperature must be >= 0, got -0.1"),
    (["task.max_tokens=0"], "task.max_tokens must be >= 1, got 0"),
    (["backend=dashscope", "backend.min_pixels=0"], "backend.min_pixels must be >= 1, got 0"),
    (
        ["backend=dashscope", "backend.min_pixels=2000", "backend.max_pixels=1000"],
        "backend.min_pixels (2000) must not exceed backend.max_pixels (1000)",
    ),
    (
        [
            "backend=openai",
            "backend.model=m",
            "backend.base_url=http://127.0.0.1:1/v1",
            "+pricing.models.m={input: -1, output: 1}",
        ],
        "pricing.models.m.input must be >= 0, got -1",
    ),
    # an option the chosen path would not read is refused, not quietly ignored
    (
        ["dataset.path=/my/file.jsonl"],
        "dataset.path is read only by dataset=local, and this run reads the bundled sample",
    ),
    (["dataset.id=someone/else"], "dataset.id is read only by dataset=hf"),
    (["dataset.revision=abc123"], "dataset.revision is read only by dataset=hf"),
    (["dataset.streaming=false"], "dataset.streaming is read only by dataset=hf"),
    (
        ["dataset=hf", "dataset.path=x.jsonl"],
        "dataset.path is read only by dataset=local, and this run reads the Hugging Face dataset",
    ),
    (
        ["dataset=local", "dataset.path=x.jsonl", "dataset.revision=r"],
        "dataset.revision is read only by dataset=hf, and this run reads local files",
    ),
    (
        ["dataset=local", "dataset.path=x.jsonl", "dataset.images=i.parquet"],
        "task 'docvqa' keeps its images in its rows",
    ),
    (["task.fewshot.split=train"], "task.fewshot.split is read only with examples to show"),
    (
        [
            "backend=openai",
            "backend.model=m",
            "backend.base_url=http://127.0.0.1:1/v1",
            "backend.serve='x {port}'",
        ],
        "give backend.base_url or backend.serve, not both",
    ),
    # a key that no schema declares, added with +, is refused with a suggestion
    (
        ["+backend.temprature=0"],
        "backend 'baseline' has no key 'temprature'; did you mean 'temperature'?",
    ),
    (["+scheduler=ray"], "bad override 'scheduler': the config has no key 'scheduler'"),
    (["+runner=ray"], "'+runner': runner is chosen in the defaults already: write runner=VALUE"),
    (["+dataset.pth=x"], "dataset has no key 'pth'; did you mean 'path'?"),
    (
        ["+task.prompts.default.usr=x"],
        "task.prompts.default has no key 'usr'; did you mean 'user'?",
    ),
    # a URL without its scheme is a malformed URL, not a missing key
    (
        ["backend=openai", "backend.model=m", "backend.base_url=127.0.0.1:8000/v1"],
        "backend.base_url '127.0.0.1:8000/v1' is not a URL: it needs http:// or https://",
    ),
    (
        ["task=refcoco", "backend.box_format=qwen3"],
        "unknown box format 'qwen3'; did you mean 'qwen-vl'?",
    ),
    # each backend has its own schema: an option it does not have is refused, not ignored
    (
        ["backend.stream=true"],
        "backend 'baseline' has no key 'stream' (it is an option of backend=openai, backend=dashscope)",
    ),
    (
        [
            "backend=openai",
            "backend.model=m",
            "backend.base_url=http://127.0.0.1:1/v1",
            "backend.answer=no",
        ],
        "backend 'openai' has no key 'answer'",
    ),
]


@pytest.mark.parametrize(("args", "expected"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_nonzero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], expected: str
) -> None:
    code, err = run_main(capsys, tmp_path, *args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("evalkit: error: ")
    assert expected in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(("args", "expected"), BAD[:3], ids=[" ".join(a) for a, _ in BAD[:3]])
def test_bad_input_is_one_line_and_nonzero_from_a_new_process(
    cli, args: list[str], expected: str
) -> None:  # type: ignore[no-untyped-def]
    """The same through ``python -m evalkit`` (its exit, its streams), for a few of them."""
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("evalkit: error: ") and expected in proc.stderr


def test_a_key_typed_on_the_command_line_is_refused_and_not_echoed(cli, tmp_path: Path) -> None:
    proc = cli("backend.api_key=sk-very-secret")
    assert proc.returncode == 2
    assert "names a secret" in proc.stderr and "backend.api_key_env=VAR" in proc.stderr
    assert "sk-very-secret" not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


def test_eval_writes_the_three_files(cli, tmp_path: Path) -> None:
    proc = cli("task=docvqa")
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("results: ")
    assert last.startswith("results: results/docvqa/baseline/")  # relative to the cwd
    run_dir = tmp_path / last.removeprefix("results: ")
    for name in ("samples.parquet", "summary.parquet", "run.json", ".hydra/config.yaml"):
        assert (run_dir / name).exists(), name
    assert not (run_dir / "samples.arrows").exists()
    assert "anls" in proc.stdout  # the summary table
    assert len(pd.read_parquet(run_dir / "samples.parquet")) == 60


def test_cfg_job_prints_the_composed_config(cli) -> None:
    proc = cli("--cfg", "job", "task=vqav2")
    assert proc.returncode == 0, proc.stderr
    assert "name: vqav2" in proc.stdout
    assert "concurrency: 8" in proc.stdout


def test_multirun_makes_one_folder_per_job_named_for_its_swept_values(cli, tmp_path: Path) -> None:
    """Folders say which values each job swept; one combined table closes the sweep."""
    proc = cli("-m", "task=docvqa,vqav2", "dataset.limit=5,3", "backend.model=a/b")
    assert proc.returncode == 0, proc.stderr
    folders = [tmp_path / line.removeprefix("results: ") for line in proc.stdout.splitlines()
               if line.startswith("results: ")]  # fmt: skip
    assert [f.name for f in folders] == [
        "0-task=docvqa,dataset.limit=5", "1-task=docvqa,dataset.limit=3",
        "2-task=vqav2,dataset.limit=5", "3-task=vqav2,dataset.limit=3"]  # fmt: skip
    for folder, n in zip(folders, (5, 3, 5, 3), strict=True):
        assert len(pd.read_parquet(folder / "samples.parquet")) == n
        assert (folder / "summary.parquet").exists()
    table = proc.stdout.split(f"multirun: 4 runs in results/multirun/{folders[0].parent.name}\n")[1]
    lines = table.strip().splitlines()
    assert lines[0].split() == ["job", "task", "metric", "value", "95%", "CI", "n", "failed"]
    assert [line.split()[:3] for line in lines[1:]] == [
        [folders[0].name, "docvqa", "anls"], [folders[1].name, "docvqa", "anls"],
        [folders[2].name, "vqav2", "vqa_accuracy"], [folders[3].name, "vqav2", "vqa_accuracy"]]  # fmt: skip
    assert [line.split()[-2] for line in lines[1:]] == ["5", "3", "5", "3"]


def test_a_multirun_folder_named_your_way(cli, tmp_path: Path) -> None:
    proc = cli("-m", "task=docvqa,vqav2", "dataset.limit=2",
               "hydra.sweep.subdir=${task.name}-${hydra.job.num}")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    names = [Path(line).name for line in proc.stdout.splitlines() if line.startswith("results: ")]
    assert names == ["docvqa-0", "vqav2-1"]


def test_multirun_checks_every_swept_value(cli) -> None:
    proc = cli("-m", "task=docvqa,vqa2")
    assert proc.returncode == 2
    assert "unknown task 'vqa2'; did you mean 'vqav2'?" in proc.stderr


@pytest.mark.parametrize("task", ["docvqa", pytest.param("refcoco", marks=pytest.mark.slow)])
def test_a_run_loads_no_pandas_and_uses_the_system_allocator(tmp_path: Path, task: str) -> None:
    """Memory: pandas is about 50 MB a run never needs, and Arrow's mimalloc kept ~10 MB more
    than malloc (bench/throughput.py). Both only hold while nothing in a run loads them."""
    code = (
        "import sys\n"
        "from evalkit.cli import main\n"
        f"sys.argv = ['evalkit', 'task={task}', 'results_dir={tmp_path}', 'report.progress=false']\n"
        "main()\n"
        "import pyarrow as pa\n"
        "print('pandas' in sys.modules, pa.default_memory_pool().backend_name)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False system"
    assert list(tmp_path.glob(f"{task}/baseline/*/samples.parquet"))


def test_make_eval_hands_command_line_variables_to_evalkit_as_overrides() -> None:
    """``make eval task=docvqa backend=openai backend.model=M``: each NAME=VALUE arrives intact."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    odd = ['backend.stop=[a,"b c"]', "backend.system_prompt=it's $HOME"]
    out = subprocess.run(["make", "-n", "eval", "task=vqav2", "backend=openai", *odd,
                          "ARGS=dataset.limit=2"], cwd=ROOT, capture_output=True, text=True, check=True)  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if " -m evalkit " in x)
    argv = shlex.split(line)
    assert argv[1:3] == ["-m", "evalkit"]
    assert argv[3:] == ["task=vqav2", "backend=openai", *sorted(odd), "dataset.limit=2"]


def test_make_help_has_no_colour_codes_off_a_terminal() -> None:
    """Piped or captured, ``make help`` is plain text: every target, no escape sequences."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "\x1b" not in out.stdout  # no ESC: no colour code
    targets = [line.split()[0] for line in out.stdout.splitlines()]
    assert {"eval", "test", "test-all", "bench"} <= set(targets)


def test_help_lists_the_subcommands(cli) -> None:
    proc = cli("--help")
    assert proc.returncode == 0, proc.stderr
    commands = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("  ")]
    assert commands == ["run", "estimate", "rescore", "compare", "report", "merge", "rejudge"]
    run_help = cli("run", "--help")
    assert run_help.returncode == 0 and "-m, --multirun" in run_help.stdout
    from evalkit.compose.tasks import task_names

    names = task_names()
    assert "mathvista" in names and "mmvet" in names
    assert f"task=[{'|'.join(names)}]" in run_help.stdout
    assert "judge=[dashscope|hf|none|openai|stand_in]" in run_help.stdout


def test_run_is_the_default_subcommand(cli, tmp_path: Path) -> None:
    named = cli("run", "task=vqav2", "dataset.limit=3")
    short = cli("task=vqav2", "dataset.limit=3")
    for proc in (named, short):
        assert proc.returncode == 0, proc.stderr
        run_dir = tmp_path / proc.stdout.strip().splitlines()[-1].removeprefix("results: ")
        assert len(pd.read_parquet(run_dir / "samples.parquet")) == 3


def test_estimate_and_rescore_subcommands(cli, tmp_path: Path) -> None:
    est = cli("estimate", "task=docvqa", "dataset.limit=4")
    assert est.returncode == 0, est.stderr
    assert "samples: 4" in est.stdout and "no request was sent" in est.stdout
    assert est.stdout == cli("task=docvqa", "dataset.limit=4", "estimate=true").stdout
    assert not (tmp_path / "results").exists()  # an estimate leaves no run folder
    done = cli("task=docvqa", "dataset.limit=4")
    run_dir = tmp_path / done.stdout.strip().splitlines()[-1].removeprefix("results: ")
    # the cli fixture appends results_dir=... : rescore takes folders, not overrides
    proc = subprocess.run([sys.executable, "-m", "evalkit", "rescore", str(run_dir)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"rescored: {run_dir}"
    missing = subprocess.run([sys.executable, "-m", "evalkit", "rescore"], capture_output=True,
                             text=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert missing.returncode == 2 and "rescore needs a run folder" in missing.stderr


def test_unknown_flags_are_one_line(cli) -> None:
    proc = cli("--verbose", "task=docvqa")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == "evalkit: error: unknown option '--verbose' (see evalkit run --help)"
    )


def test_a_second_run_in_the_same_folder_gets_its_own(cli, tmp_path: Path) -> None:
    # run folders are named to the second: two runs in one second must not share one
    fixed = tmp_path / "results" / "same"
    first = cli("task=docvqa", "dataset.limit=3", f"hydra.run.dir={fixed}")
    second = cli("task=docvqa", "dataset.limit=5", f"hydra.run.dir={fixed}")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert first.stdout.strip().endswith("results: results/same")
    assert second.stdout.strip().endswith("results: results/same-2")
    assert len(pd.read_parquet(fixed / "samples.parquet")) == 3
    assert len(pd.read_parquet(tmp_path / "results" / "same-2" / "samples.parquet")) == 5


def test_report_into_a_place_that_cannot_be_written_is_one_line(cli, tmp_path: Path) -> None:
    done = cli("task=docvqa", "dataset.limit=2")
    run = tmp_path / done.stdout.strip().splitlines()[-1].removeprefix("results: ")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    proc = subprocess.run([sys.executable, "-m", "evalkit", "report", str(run), "-o",
                           str(blocked / "r.html")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)  # fmt: skip
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"evalkit: error: report: cannot write {blocked / 'r.html'} (")
    into = subprocess.run([sys.executable, "-m", "evalkit", "report", str(run), "-o",
                           str(tmp_path)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)  # fmt: skip
    assert into.returncode == 0 and (tmp_path / "report.html").exists()


def test_a_reader_that_goes_away_leaves_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "evalkit", "run", "--cfg", "all",
                             "task=textvqa"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # `| head -0`: nobody reads what it prints
    code = proc.wait(timeout=120)
    assert proc.stderr.read() == b"" and code in (0, 141)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compre", "a", "b"], "unknown command 'compre'; did you mean 'compare'?"),
        (["docvqa"], "'docvqa' is a task: choose it with task=docvqa"),
        (["task=vqav2", "mmvet"], "'mmvet' is a task: choose it with task=mmvet"),
        (["estimate", "docvqa"], "'docvqa' is a task: choose it with task=docvqa"),
        (["docvq"], "'docvq' is neither a command nor an override (KEY=VALUE); did you mean "
         "task=docvqa?"),
        (["task=refcoco", "dataset.splits=val,testA"], "a list is written "
         "dataset.splits=[val,testA]; to run once per value add -m (--multirun)"),
    ],
)  # fmt: skip
def test_a_misspelt_word_gets_the_form_it_was_meant_as(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, err = run_main(capsys, tmp_path, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from evalkit import __version__
    from evalkit.cli import main

    main(["--version"])
    assert capsys.readouterr().out == f"evalkit {__version__}\n"
