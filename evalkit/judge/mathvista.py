# ruff: noqa: E501  (the prompt's lines are MathVista's own)
"""MathVista's answer extraction by a judge (``extract_answer.py``, its ``demo_prompt``).

As ``evaluation/extract_answer.py`` of ``lupantech/MathVista`` (at
53d525874bdde205128e6b160b7357a88277d479; the prompt in ``evaluation/prompts/ext_ans.py``, last
changed in ed0d56de2146e75ec9d389ffce6e8af05431e846) asks its extraction model: the five solved
examples (``demo_prompt``, stripped), a blank line, the problem's ``query``, a blank line, the
model's response, a blank line and ``Extracted answer: ``; the judge's text is the extraction, which
``calculate_score.py``'s normalisation then compares (``mathvista_accuracy``). The script asks
it only when its rules cannot read the response (evalkit's ``mathvista`` parser: ``fallback``);
an empty extraction is ``JudgeFailed`` (the script's ``verify_extraction`` rejects it too).
"""

from __future__ import annotations

import re

from evalkit.judge.base import JudgeProtocol, JudgeQuery, Verdict

__all__ = ["MATHVISTA"]

_DEMO = (
    "\n"
    "Please read the following example. Then extract the answer from the model response and type it at the end of the prompt.\n"
    "\n"
    "Hint: Please answer the question requiring an integer answer and provide the final value, e.g., 1, 2, 3, at the end.\n"
    "Question: Which number is missing?\n"
    "\n"
    "Model response: The number missing in the sequence is 14.\n"
    "\n"
    "Extracted answer: 14\n"
    "\n"
    "Hint: Please answer the question requiring a floating-point number with one decimal place and provide the final value, e.g., 1.2, 1.3, 1.4, at the end.\n"
    "Question: What is the fraction of females facing the camera?\n"
    "\n"
    "Model response: The fraction of females facing the camera is 0.6, which means that six out of ten females in the group are facing the camera.\n"
    "\n"
    "Extracted answer: 0.6\n"
    "\n"
    "Hint: Please answer the question requiring a floating-point number with two decimal places and provide the final value, e.g., 1.23, 1.34, 1.45, at the end.\n"
    "Question: How much money does Luca need to buy a sour apple candy and a butterscotch candy? (Unit: $)\n"
    "\n"
    "Model response: Luca needs $1.45 to buy a sour apple candy and a butterscotch candy.\n"
    "\n"
    "Extracted answer: 1.45\n"
    "\n"
    "Hint: Please answer the question requiring a Python list as an answer and provide the final list, e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.\n"
    "Question: Between which two years does the line  graph saw its maximum peak?\n"
    "\n"
    "Model response: The line graph saw its maximum peak between 2007 and 2008.\n"
    "\n"
    "Extracted answer: [2007, 2008]\n"
    "\n"
    "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.\n"
    "Question: What fraction of the shape is blue?\n"
    "Choices:\n"
    "(A) 3/11\n"
    "(B) 8/11\n"
    "(C) 6/11\n"
    "(D) 3/5\n"
    "\n"
    "Model response: The correct answer is (B) 8/11.\n"
    "\n"
    "Extracted answer: B\n"
    ""
)
_END = "\n\nExtracted answer: "


def prompts(query: JudgeQuery) -> tuple[str, ...]:
    """``create_test_prompt``: the examples, the query, the response, then the cue.

    >>> prompts(JudgeQuery("Question: How many?", "I count 3.", ("3",)))[0].splitlines()[-7:]
    ['Extracted answer: B', '', 'Question: How many?', '', 'I count 3.', '', 'Extracted answer: ']
    """
    return (f"{_DEMO.strip()}\n\n{query.question}\n\n{query.answer}{_END}",)


def read(text: str, query: JudgeQuery) -> Verdict | None:
    """The extraction as written (stripped); an empty one is no verdict.

    >>> read(" 14 ", JudgeQuery("q", "a", ())), read("", JudgeQuery("q", "a", ()))
    (Verdict(text='14', score=None, reference=None), None)
    """
    extraction = text.strip()
    return Verdict(extraction) if extraction else None


_LAST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_LETTER = re.compile(r"\(([A-Z])\)")


def stand_in(prompt: str) -> str:
    """The stand-in's extraction: an option letter in parentheses, else the last number.

    >>> stand_in(prompts(JudgeQuery("q", "The correct answer is (B) 8/11.", ()))[0])
    'B'
    >>> stand_in(prompts(JudgeQuery("q", "About 12.5 metres, I think", ()))[0])
    '12.5'
    """
    response = prompt.removesuffix(_END).rpartition("\n\n")[2]
    letter = _LETTER.search(response)
    if letter:
        return letter.group(1)
    numbers = _LAST_NUMBER.findall(response)
    return numbers[-1] if numbers else response.strip()


MATHVISTA = JudgeProtocol(
    name="mathvista",
    kind="extract",
    source=(
        "lupantech/MathVista evaluation/extract_answer.py (create_test_prompt, demo_prompt) "
        "@ 53d525874bdde205128e6b160b7357a88277d479"
    ),
    texts=(_DEMO, _END),
    prompts=prompts,
    read=read,
    stand_in=stand_in,
    max_tokens=1024,
)
"""MathVista's extraction protocol (``judge.mode=fallback``)."""
