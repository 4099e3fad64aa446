"""HallusionBench's own judge: is the answer correct, incorrect or unclear against the reference?

As ``evaluate_by_chatgpt`` in ``utils.py`` of tianyi-lab/HallusionBench (at
67ba0de2dcb3e3b13c53a0b5926af80227f22ac1), which ``evaluation.py`` calls for every answer: one
user message, the teacher's instruction, then the question, the reference answer
(``gt_answer_details``, which the task keeps) and the prediction. The verdict: ``incorrect``
anywhere in the text (lower-cased) is incorrect, else ``correct`` anywhere is correct, else
unclear; ``assign_correctness`` then counts only correct as right (unclear is right only for a
text-only VS question, which the image split does not hold). The script asks ``gpt-4`` with no
token limit and no reading that can fail: every text is a verdict. Its second judge
(``check_same_by_chatgpt``) only feeds the hallucination analysis (LH/VI), not aAcc, fAcc or
qAcc, and is not asked. Chosen with ``task.judge.protocol=hallusionbench
task.judge.mode=always``; the task's default is VLMEvalKit's rule with a yes/no judge.
"""

from __future__ import annotations

import re

from evalkit.judge.base import JudgeProtocol, JudgeQuery, Verdict

__all__ = ["HALLUSIONBENCH"]

_INSTRUCTION = (
    "Imagine you are an intelligent teacher. Thoroughly read the question, reference answer and "
    "the prediction answer to ensure a clear understanding of the information provided. Assess "
    "the correctness of the predictions. If the prediction answer does not conflict with the "
    "reference answer, please generate \u201ccorrect\u201d. If the prediction answer conflict "
    "with the reference answer, please generate \u201cincorrect\u201d. If the prediction answer "
    'is unclear about the answer, please generate "unclear". \n\n Question:'
)
_REFERENCE = "\nReference answer: "
_PREDICTION = "\nPrediction answer:"
_END = "\nOutput:"
DETAILS = "gt_answer_details"
"""The kept column the reference answer comes from."""


def prompts(query: JudgeQuery) -> tuple[str, ...]:
    """The teacher's prompt, as the script concatenates it.

    >>> q = JudgeQuery("Is it red?", "Yes", ("1",), meta={"gt_answer_details": "It is red."})
    >>> prompts(q)[0].split(" Question:")[1].splitlines()
    ['Is it red?', 'Reference answer: It is red.', 'Prediction answer:Yes', 'Output:']
    """
    reference = str(query.meta.get(DETAILS) or "")
    return (f"{_INSTRUCTION}{query.question}{_REFERENCE}{reference}{_PREDICTION}"
            f"{query.answer}{_END}",)  # fmt: skip


def read(text: str, query: JudgeQuery) -> Verdict:
    """The script's reading: incorrect before correct, anything else unclear (scored 0).

    >>> [read(t, JudgeQuery("q", "a", ("1",))).score for t in ("Correct.", "incorrect", "?")]
    [1.0, 0.0, 0.0]
    """
    lowered = text.lower()
    if "incorrect" in lowered:
        return Verdict("incorrect", 0.0)
    if "correct" in lowered:
        return Verdict("correct", 1.0)
    return Verdict("unclear", 0.0)


def stand_in(prompt: str) -> str:
    """The stand-in's verdict, by the prediction's yes or no against the reference's wording.

    Correct when they agree (a ``not``/``no`` in one and not the other: incorrect); unclear
    when the prediction says neither.

    >>> p = prompts(JudgeQuery("q", "No, it is not.", ("0",), meta={DETAILS: "It is not red."}))
    >>> stand_in(p[0])
    'correct'
    """
    reference = prompt.rpartition(_REFERENCE)[2].rpartition(_PREDICTION)[0].lower()
    answer = prompt.rpartition(_PREDICTION)[2].rpartition(_END)[0].lower()
    words = set(re.findall(r"[a-z']+", answer))
    if not words & {"yes", "no"}:
        return "unclear"
    denies = bool(re.search(r"\b(not|no|none|never)\b|n't\b", reference))
    return "correct" if ("no" in words) == denies else "incorrect"


HALLUSIONBENCH = JudgeProtocol(
    name="hallusionbench",
    kind="grade",
    source="tianyi-lab/HallusionBench utils.py (evaluate_by_chatgpt, assign_correctness) @ "
    "67ba0de2dcb3e3b13c53a0b5926af80227f22ac1",
    texts=(_INSTRUCTION, _REFERENCE, _PREDICTION, _END),
    prompts=prompts,
    read=read,
    stand_in=stand_in,
    max_tokens=64,
    scale=(0.0, 1.0),
)
"""HallusionBench's own GPT-4 correctness check (``task.judge.protocol=hallusionbench``)."""
