# ruff: noqa: E501  (the rule's lines are LLaVA's own)
"""LLaVA-Bench (in-the-wild)'s review: a judge scores the reference and the answer, 1 to 10.

As ``llava/eval/eval_gpt_review_bench.py`` of ``haotian-liu/LLaVA`` (at
237165b0166ad3fdc4fb0a7d881c857755d2404f, its rules in ``llava/eval/table/rule.json`` at
181a2f811f1eb0b794c25e87204491d812c05f8d, the same prompt for ``conv``, ``detail`` and
``complex``) reviews: the system message, then ``[Context]`` (the image's captions),
``[Question]``, the reference answer as ``[Assistant 1]``, the model's as ``[Assistant 2]`` and
the rule as ``[System]``; the first line of the review holds the two scores (commas as
spaces, exactly two values). ``summarize_gpt_review.py`` (ce1aa08d) reports, per category
and overall, 100 x the mean score of the answers over the mean score of the references
(``relative_score``), rounded to one decimal. The script sends ``temperature=0.2`` to
``gpt-4-0314``; evalkit asks at the judge's temperature (0 unless ``judge.temperature`` says,
so verdicts are cached and repeatable). A review whose first line does not hold two numbers is
``JudgeFailed``, where the script records ``[-1, -1]`` and averages it in.
"""

from __future__ import annotations

from evalkit.judge.base import JudgeProtocol, JudgeQuery, Verdict

__all__ = ["LLAVA_BENCH"]

_SYSTEM = "You are a helpful and precise assistant for checking the quality of the answer."
_RULE = (
    "We would like to request your feedback on the performance of two AI assistants in response to the user question displayed above. The user asks the question on observing an image. For your reference, the visual content in the image is represented with a few sentences describing the image. \n"
    "Please rate the helpfulness, relevance, accuracy, level of details of their responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates better overall performance.\n"
    "Please first output a single line containing only two values indicating the scores for Assistant 1 and 2, respectively. The two scores are separated by a space.\n"
    "In the subsequent line, please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order in which the responses were presented does not affect your judgment."
)


def prompts(query: JudgeQuery) -> tuple[str, ...]:
    """The review request for one answer (the reference as Assistant 1).

    >>> [p] = prompts(JudgeQuery("What is it?", "A cat.", ("A grey cat.",), context="A cat."))
    >>> p.split("[System]")[0].splitlines()
    ['[Context]', 'A cat.', '', '[Question]', 'What is it?', '', '[Assistant 1]', 'A grey cat.', '', '[End of Assistant 1]', '', '[Assistant 2]', 'A cat.', '', '[End of Assistant 2]', '']
    """
    reference = query.references[0] if query.references else ""
    return (
        f"[Context]\n{query.context}\n\n"
        f"[Question]\n{query.question}\n\n"
        f"[Assistant 1]\n{reference}\n\n[End of Assistant 1]\n\n"
        f"[Assistant 2]\n{query.answer}\n\n[End of Assistant 2]\n\n"
        f"[System]\n{_RULE}\n\n",
    )


def read(text: str, query: JudgeQuery | None = None) -> Verdict | None:
    """The two scores of the review's first line (``parse_score``), else ``None``.

    Split on single spaces after commas became spaces: ``8,6`` reads, ``8, 6`` (two spaces
    then) does not, as in the script.

    >>> [v and (v.reference, v.score) for v in map(read, ("8 6", "8,6", "8, 6", "Scores: 8 6"))]
    [(8.0, 6.0), (8.0, 6.0), None, None]
    """
    line = text.split("\n")[0]
    values = line.replace(",", " ").split(" ")
    if len(values) != 2:
        return None
    try:
        reference, score = float(values[0]), float(values[1])
    except ValueError:
        return None
    return Verdict(line, score, reference)


def stand_in(prompt: str) -> str:
    """The stand-in's review: the reference 8, the answer 1 + 7 x the reference's words it has.

    >>> stand_in(prompts(JudgeQuery("q", "a grey cat", ("a grey cat",)))[0]).splitlines()[0]
    '8 8'
    """
    reference = prompt.partition("[Assistant 1]\n")[2].partition("\n\n[End of Assistant 1]")[0]
    answer = prompt.partition("[Assistant 2]\n")[2].partition("\n\n[End of Assistant 2]")[0]
    wanted = set(reference.lower().split())
    share = len(wanted & set(answer.lower().split())) / len(wanted) if wanted else 0.0
    return f"8 {round(1 + 7 * share)}\nThe stand-in's rule: the reference's words found."


LLAVA_BENCH = JudgeProtocol(
    name="llava_bench",
    kind="grade",
    source=(
        "haotian-liu/LLaVA llava/eval/eval_gpt_review_bench.py @ "
        "237165b0166ad3fdc4fb0a7d881c857755d2404f (rule.json @ 181a2f81)"
    ),
    texts=(_RULE,),
    system=_SYSTEM,
    prompts=prompts,
    read=read,
    stand_in=stand_in,
    max_tokens=1024,
    scale=(1.0, 10.0),
)
"""LLaVA-Bench's review protocol."""
