"""VLMEvalKit's yes/no matching: a judge reads yes or no out of a free answer.

As ``YOrN_match_prompt`` and ``YOrN_auxeval`` in ``vlmeval/dataset/utils/yorn.py`` of
open-compass/VLMEvalKit (at 0c7163c9c71cff1758ff1c101385e8ce80d8713a), used for HallusionBench:
the rule (``YOrN_Extraction``, evalkit's ``yes_no`` parser) reads the answer first; only when it
finds neither (or both) is the judge asked, and its text is read by the same rule. The judge
may say ``Unknown``: a verdict, scored wrong (VLMEvalKit's outcome after its retries). VLMEvalKit
asks up to five times at rising temperatures; evalkit asks once (cached) and records a text it
cannot read as ``JudgeFailed``, left out of the score and counted.
"""

from __future__ import annotations

import re

from evalkit.judge.base import JudgeProtocol, JudgeQuery, Verdict
from evalkit.parse.yorn import read_yes_no

__all__ = ["YORN"]

_PROMPT = (
    "You are an AI assistant who will help me to match an answer with two options of a question. "
    "The options are only Yes / No. "
    "You are provided with a question and an answer, "
    "and you need to find which option (Yes / No) is most similar to the answer. "
    "If the meaning of all options are significantly different from the answer, output Unknown. "
    "Your should output a single word among the following 3 choices: Yes, No, Unknown.\n"
    "Example 1: \n"
    "Question: Is the word in this image 'Hello'?\nAnswer: The word in this image is 'Hello'.\n"
    "Your output: Yes\n"
    "Example 2: \n"
    "Question: Is the word in this image 'Hello'?\n"
    "Answer: The word in this image is not 'Hello'.\nYour output: No\n"
    "Example 3: \n"
    "Question: {}?\nAnswer: {}\nYour output: "
)


def prompts(query: JudgeQuery) -> tuple[str, ...]:
    """The matching prompt, the question and the answer in its third example.

    >>> prompts(JudgeQuery("Is it red?", "It looks red to me", ("1",)))[0].splitlines()[-3:]
    ['Question: Is it red??', 'Answer: It looks red to me', 'Your output: ']
    """
    return (_PROMPT.format(query.question, query.answer),)


def read(text: str, query: JudgeQuery) -> Verdict | None:
    """The rule's ``yes``/``no`` in the judge's text, ``unknown`` for its Unknown, else ``None``.

    >>> [read(t, JudgeQuery("q", "a", ("1",))) for t in ("Yes", "No.", "Unknown", "maybe")]
    [Verdict(text='yes', score=None, reference=None), Verdict(text='no', score=None, reference=None), Verdict(text='unknown', score=None, reference=None), None]
    """  # noqa: E501
    label = read_yes_no(text)
    if label:
        return Verdict(label)
    if text.strip().lower().rstrip(".") == "unknown":
        return Verdict("unknown")
    return None


def stand_in(prompt: str) -> str:
    """The stand-in's match: No for a denial, Yes for an affirmation, else Unknown.

    A denial holds ``not``, ``n't``, ``none`` or ``never``; an affirmation ``there is``,
    ``it is``, ``correct`` or ``true``.

    >>> [stand_in(prompts(JudgeQuery("q", a, ("1",)))[0]) for a in
    ...  ("It is not red", "There is a cat", "Hard to say")]
    ['No', 'Yes', 'Unknown']
    """
    answer = prompt.rpartition("\nAnswer: ")[2].rpartition("\nYour output: ")[0].lower()
    if re.search(r"\b(not|none|never)\b|n't\b", answer):
        return "No"
    if re.search(r"\b(there (is|are)|it is|correct|true)\b", answer):
        return "Yes"
    return "Unknown"


YORN = JudgeProtocol(
    name="yorn",
    kind="extract",
    source="open-compass/VLMEvalKit vlmeval/dataset/utils/yorn.py (YOrN_match_prompt, "
    "YOrN_auxeval) @ 0c7163c9c71cff1758ff1c101385e8ce80d8713a",
    texts=(_PROMPT,),
    prompts=prompts,
    read=read,
    stand_in=stand_in,
    max_tokens=16,
)
"""VLMEvalKit's yes/no matching protocol (``judge.mode=fallback``): HallusionBench's."""
