"""MM-Vet's grader: a correctness score from 0.0 to 1.0 for an open-ended answer.

As ``mm-vet_evaluator.py`` of ``yuweihao/MM-Vet`` (at c7ff270d86fb79c42346214366f4192c0e08b042)
grades: one user message, its few-shot table followed by the row
``question | ground truth | prediction | `` (``<AND>`` and ``<OR>`` in the ground truth
spaced out), ``max_tokens=3``, temperature 0; the score is the judge's text up to its first
space, as a float in [0, 1]. When it is not, the script asks again with
``Predict the correctness of the answer (digit): `` appended. The script then raises the
temperature by 0.5 a try and, after five, scores the answer 0.0; evalkit asks that second
prompt once, at the judge's temperature (so it is cached and repeatable), and counts an
answer still without a grade as ``JudgeFailed``, left out of the score and reported, never
a silent 0.
"""

from __future__ import annotations

from evalkit.judge.base import JudgeProtocol, JudgeQuery, Verdict

__all__ = ["MMVET"]

# The grader prompt, as the official script sends it (its own text: a benchmark's judge prompt
# is data that must not change, or the grades are not MM-Vet's).
_PROMPT = (
    "Compare the ground truth and prediction from AI models, to give a correctness score for the "
    "prediction. <AND> in the ground truth means it is totally right only when all elements in the "
    "ground truth are present in the prediction, and <OR> means it is totally right when any one "
    "element in the ground truth is present in the prediction. The correctness score is 0.0 "
    "(totally wrong), 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, or 1.0 (totally right). Just "
    "complete the last space of the correctness score.\n"
    "\n"
    "Question | Ground truth | Prediction | Correctness\n"
    "--- | --- | --- | ---\n"
    "What is x in the equation? | -1 <AND> -5 | x = 3 | 0.0\n"
    "What is x in the equation? | -1 <AND> -5 | x = -1 | 0.5\n"
    "What is x in the equation? | -1 <AND> -5 | x = -5 | 0.5\n"
    "What is x in the equation? | -1 <AND> -5 | x = -5 or 5 | 0.5\n"
    "What is x in the equation? | -1 <AND> -5 | x = -1 or x = -5 | 1.0\n"
    "Can you explain this meme? | This meme is poking fun at the fact that the names of the "
    "countries Iceland and Greenland are misleading. Despite its name, Iceland is known for its "
    "beautiful green landscapes, while Greenland is mostly covered in ice and snow. The meme is "
    "saying that the person has trust issues because the names of these countries do not "
    "accurately represent their landscapes. | The meme talks about Iceland and Greenland. It's "
    "pointing out that despite their names, Iceland is not very icy and Greenland isn't very "
    "green. | 0.4\n"
    "Can you explain this meme? | This meme is poking fun at the fact that the names of the "
    "countries Iceland and Greenland are misleading. Despite its name, Iceland is known for its "
    "beautiful green landscapes, while Greenland is mostly covered in ice and snow. The meme is "
    "saying that the person has trust issues because the names of these countries do not "
    "accurately represent their landscapes. | The meme is using humor to point out the "
    "misleading nature of Iceland's and Greenland's names. Iceland, despite its name, has lush "
    "green landscapes while Greenland is mostly covered in ice and snow. The text 'This is why I "
    "have trust issues' is a playful way to suggest that these contradictions can lead to "
    "distrust or confusion. The humor in this meme is derived from the unexpected contrast "
    "between the names of the countries and their actual physical characteristics. | 1.0\n"
)
_AGAIN = "\nPredict the correctness of the answer (digit): "


def _ground_truth(reference: str) -> str:
    return reference.replace("<AND>", " <AND> ").replace("<OR>", " <OR> ")


def prompts(query: JudgeQuery) -> tuple[str, ...]:
    """The grading prompt for one answer, then the script's second prompt.

    >>> first, again = prompts(JudgeQuery("What is x?", "x = 2", ("2<OR>two",)))
    >>> first.splitlines()[-1], again.endswith("(digit): ")
    ('What is x? | 2 <OR> two | x = 2 | ', True)
    """
    gold = _ground_truth(query.references[0] if query.references else "")
    first = _PROMPT + "\n" + " | ".join([query.question, gold, query.answer, ""])
    return first, first + _AGAIN


def read(text: str, query: JudgeQuery | None = None) -> Verdict | None:
    """The grade: the text up to its first space, a float in [0, 1]; else ``None``.

    >>> [v and v.score for v in map(read, ("0.6", "1.0 (totally right)", "Correct: 0.5", "1.5"))]
    [0.6, 1.0, None, None]
    """
    head = text.split(" ")[0].strip()
    try:
        score = float(head)
    except ValueError:
        return None
    if not 0.0 <= score <= 1.0:  # NaN fails both comparisons
        return None
    return Verdict(head, score)


def _fields(prompt: str) -> tuple[str, str, str]:
    """The question, ground truth and prediction of a prompt :func:`prompts` made."""
    body = prompt.removeprefix(_PROMPT + "\n").removesuffix(_AGAIN)
    parts = body.split(" | ")
    return parts[0], parts[1] if len(parts) > 1 else "", " | ".join(parts[2:-1])


def stand_in(prompt: str) -> str:
    """The stand-in's grade: the share of the ground truth's parts found in the answer.

    ``a <AND> b``: each part found counts half (for two parts); ``a <OR> b``: 1.0 when any
    part is found; otherwise 1.0 when the ground truth occurs in the answer (case ignored).

    >>> stand_in(prompts(JudgeQuery("q", "x = -1", ("-1<AND>-5",)))[0])
    '0.5'
    >>> stand_in(prompts(JudgeQuery("q", "It is Two.", ("2<OR>two",)))[0])
    '1.0'
    """
    _, gold, answer = _fields(prompt)
    answer = answer.lower()
    if " <AND> " in gold:
        parts = [p.strip().lower() for p in gold.split(" <AND> ")]
        score = sum(p in answer for p in parts) / len(parts)
    else:
        parts = [p.strip().lower() for p in gold.split(" <OR> ")]
        score = float(any(p and p in answer for p in parts))
    return f"{round(score, 1):.1f}"


MMVET = JudgeProtocol(
    name="mmvet",
    kind="grade",
    source="yuweihao/MM-Vet mm-vet_evaluator.py @ c7ff270d86fb79c42346214366f4192c0e08b042",
    texts=(_PROMPT, _AGAIN),
    prompts=prompts,
    read=read,
    stand_in=stand_in,
    max_tokens=3,
    scale=(0.0, 1.0),
)
"""MM-Vet's grader protocol."""
