"""Answer books for the loopback server: a "model" of known quality on a bundled sample.

:func:`answer_book` reads a task's bundled sample and maps each sample (its image's digest
and its question) to its first gold answer, or to a wrong one for the samples ``wrong``
picks. Served by :class:`~evalkit.testing.fake_server.FakeVLMServer` (``answer_book``, or
``--answers FILE``), it lets tests and the CI example make two runs whose quality differs
by a known amount, offline.

``python -m evalkit.testing.answers TASK OUT.json [--wrong-every K]`` writes one.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable

import pyarrow.parquet as pq

from evalkit.compose.tasks import load_task
from evalkit.dataset.images import image_bytes
from evalkit.resources import sample_data_dir

__all__ = ["answer_book", "main"]


def _never(_: int) -> bool:
    return False


def answer_book(
    task: str,
    *,
    split: str | None = None,
    wrong: Callable[[int], bool] = _never,
    wrong_answer: str = "no idea",
) -> dict[str, str]:
    """``sha256:IMAGE|question`` → answer for every row of the task's bundled sample.

    ``wrong(position)`` picks the rows answered ``wrong_answer`` instead of their first gold
    answer. Tasks without a question column (captioning) are keyed by the image alone.
    """
    spec = load_task(task)
    path = sample_data_dir() / spec.name / f"{split or spec.dataset.split}.parquet"
    columns = spec.columns
    names = [c for c in (columns.image, columns.question, columns.answers) if c]
    book: dict[str, str] = {}
    for position, row in enumerate(pq.read_table(path, columns=names).to_pylist()):
        digest = hashlib.sha256(image_bytes(row[columns.image])).hexdigest()
        question = str(row[columns.question]) if columns.question else ""
        answers = row[columns.answers]
        gold = answers[0] if isinstance(answers, list) else answers
        if isinstance(gold, dict) and columns.answer_key:
            gold = gold[columns.answer_key]
        book[f"sha256:{digest}|{question}"] = wrong_answer if wrong(position) else str(gold)
    return book


def main(argv: list[str] | None = None) -> None:
    """``python -m evalkit.testing.answers TASK OUT.json [--wrong-every K]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    every = int(args[args.index("--wrong-every") + 1]) if "--wrong-every" in args else 0
    task, out = args[0], args[1]
    book = answer_book(task, wrong=(lambda i: i % every == 0) if every else _never)
    with open(out, "w", encoding="utf-8") as file:
        json.dump(book, file, ensure_ascii=False)


if __name__ == "__main__":
    main()
