"""Progress a person (or a CI log) can read."""

from __future__ import annotations

import io

from evalkit.dataset import describe_source, expected_samples
from evalkit.run.progress import PlainProgress, progress_bar

from ..conftest import compose_run


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = progress_bar(4, enabled=True, interval_s=0.0, out=out)
    assert isinstance(bar, PlainProgress)
    bar.set_postfix(errors=1, tokens=300, cost="0.0012 CNY", refresh=False)
    bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()
    assert lines[0].startswith("progress: 1/4 samples (25%), ")
    assert "/s, ETA " in lines[0] and lines[0].endswith("errors 1, tokens 300, cost 0.0012 CNY")


def test_a_line_every_interval_not_every_sample() -> None:
    out = io.StringIO()
    bar = PlainProgress(None, interval_s=3600.0, out=out)
    for _ in range(100):
        bar.update(1)
    assert out.getvalue() == ""
    bar.close()
    assert out.getvalue().startswith("progress: 100 samples, ")


def test_the_total_comes_from_the_source_or_the_limit() -> None:
    def total(*overrides: str) -> int | None:
        cfg = compose_run(list(overrides))
        return expected_samples(cfg.task, cfg.dataset, describe_source(cfg.task, cfg.dataset))

    assert total("task=docvqa") == 60  # the bundled Parquet's metadata
    assert total("task=docvqa", "dataset.limit=7") == 7
    assert total("task=docvqa", "dataset.limit=700") == 60
    assert total("task=refcoco") is None  # rows explode into one sample per expression
    assert total("task=refcoco", "dataset.limit=5") == 5


def test_a_run_in_a_log_prints_plain_progress_lines(cli) -> None:
    proc = cli("task=docvqa", "report.progress=true", "report.progress_every_s=0")
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("progress: ")]
    assert lines and lines[-1].startswith("progress: 60/60 samples (100%)")
    assert "\r" not in proc.stderr


def test_the_corpus_scoring_after_the_last_answer_is_announced(capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Captions score for seconds in Java after "100%": a line says so; a mean metric, none."""
    from ..conftest import main_in_process

    captions = main_in_process(capsys, tmp_path, "task=coco_caption", "dataset.limit=5",
                               "report.progress=true", "report.bootstrap=0")  # fmt: skip
    assert captions.returncode == 0, captions.stderr
    assert "scoring: Bleu_1, Bleu_2, Bleu_3, Bleu_4, METEOR, ROUGE_L, CIDEr over 5 answers" in (
        captions.stderr
    )
    answers = main_in_process(capsys, tmp_path, "task=vqav2", "dataset.limit=5",
                              "report.progress=true")  # fmt: skip
    assert answers.returncode == 0 and "scoring:" not in answers.stderr
