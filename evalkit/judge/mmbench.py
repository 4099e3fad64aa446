"""VLMEvalKit's MMBench answer matching: a judge reads the option out of a free answer.

As ``extract_answer_from_item`` in ``vlmeval/dataset/utils/multiple_choice.py`` of
``open-compass/VLMEvalKit`` (at 895762d302b923d9d1f24ac16a7a2cbc461bb1cf): the rule
(``can_infer``, evalkit's ``choice`` parser) reads the answer first; only when it finds nothing
is the judge asked, with ``build_prompt`` (``build_prompt_cn`` when the question holds a CJK
ideograph), the options written by ``build_option_str``; the judge's text is read by
``can_infer`` again (an option letter, or ``Z``: none of them). VLMEvalKit asks up to three
times and then draws a random letter; evalkit asks once (at temperature 0 the same prompt gets
the same answer, and it is cached) and records an unreadable answer as ``JudgeFailed``, left
out of the score and counted, never a random draw.
"""

from __future__ import annotations

import re

from evalkit.judge.base import JudgeProtocol, JudgeQuery, Verdict
from evalkit.parse.choice import choose_letter
from evalkit.records import option_letters

__all__ = ["MMBENCH"]

# VLMEvalKit's two prompts, as its build_prompt and build_prompt_cn write them
_EN = (
    "You are an AI assistant who will help me to match an answer with several options of a "
    "single-choice question. You are provided with a question, several options, and an answer, "
    "and you need to find which option is most similar to the answer. If the meaning of all "
    "options are significantly different from the answer, output Z. Your should output a single "
    "uppercase character in A, B, C, D (if they are valid options), and Z. \n"
    "Example 1: \n"
    "Question: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n"
    "Answer: a cute teddy bear\nYour output: A\n"
    "Example 2: \n"
    "Question: What is the main object in image?\nOptions: A. teddy bear B. rabbit C. cat D. dog\n"
    "Answer: Spider\nYour output: Z\n"
    "Example 3: \n"
    "Question: {}?\nOptions: {}\nAnswer: {}\nYour output: "
)
_CN = (
    "你是一个帮助我匹配答案与单选题中多个选项的 AI 助手。"
    "你会被提供：一个问题，多个选项，一个答案。你的任务是找到与答案意义最相近的选项。"
    "如果所有选项的意义都与答案显著不同，则输出 Z。"
    "你应该输出一个单个的大写字母，例如 A, B, C, D（如果它们是有效选项），或 Z。"
    "例 1:"
    "问题: 图中最主要的物体是什么?\n选项: A. 泰迪熊 B. 兔子 C. 猫 D. 狗\n"
    "答案: 一只可爱的泰迪熊\n输出: A\n"
    "例 2: \n"
    "问题: 图中最主要的物体是什么?\n选项: A. 泰迪熊 B. 兔子 C. 猫 D. 狗\n答案: 蜘蛛\n输出: Z\n"
    "例 3: \n"
    "问题: {}?\n选项: {}\n答案: {}\n输出: "
)
_OPTIONS = "There are several options: \n"
_IDEOGRAPH = re.compile("[\u4e00-\u9fff]")


def _options(choices: tuple[str, ...]) -> str:
    """``build_option_str``: a heading, then ``A. text`` lines."""
    letters = option_letters(len(choices))
    return _OPTIONS + "".join(f"{k}. {text}\n" for k, text in zip(letters, choices, strict=True))


def prompts(query: JudgeQuery) -> tuple[str, ...]:
    """The matching prompt (Chinese when the question has an ideograph).

    >>> [p] = prompts(JudgeQuery("Which animal", "maybe the dog", ("B",), ("cat", "dog")))
    >>> p.split("Example 3: ")[1].splitlines()
    ['', 'Question: Which animal?', 'Options: There are several options: ', 'A. cat', 'B. dog', '', 'Answer: maybe the dog', 'Your output: ']
    """  # noqa: E501
    template = _CN if _IDEOGRAPH.search(query.question) else _EN
    return (template.format(query.question, _options(query.choices), query.answer),)


def _letters(prompt: str) -> list[str]:
    body = prompt.rpartition("Options: ")[2] or prompt.rpartition("选项: ")[2]
    return re.findall(r"^([A-Z])\. ", body, flags=re.M)


def read(text: str, query: JudgeQuery) -> Verdict | None:
    """The letter ``can_infer`` reads in the judge's answer against the options, else ``None``.

    ``Z`` (none of the options) is a verdict.

    >>> q = JudgeQuery("q", "a", ("B",), ("cat", "dog", "bird"))
    >>> [read(t, q) for t in ("B", "I think it is C.", "Z", "E", "A or B", "the dog")]
    [Verdict(text='B', score=None, reference=None), Verdict(text='C', score=None, reference=None), Verdict(text='Z', score=None, reference=None), None, None, Verdict(text='B', score=None, reference=None)]
    """  # noqa: E501
    letter = choose_letter(text, query.choices, "vlmevalkit")
    return Verdict(letter) if letter else None


def _fields(prompt: str) -> tuple[list[str], str]:
    """The options' texts and the answer in a prompt :func:`prompts` made."""
    english = "\nYour output: " in prompt
    answer_mark, end = ("\nAnswer: ", "\nYour output: ") if english else ("\n答案: ", "\n输出: ")
    head, _, rest = prompt.rpartition(answer_mark)
    answer = rest.rpartition(end)[0]
    options = head.rpartition(_OPTIONS)[2]
    texts = [line[3:] for line in options.splitlines() if re.match(r"^[A-Z]\. ", line)]
    return texts, answer


def stand_in(prompt: str) -> str:
    """The stand-in's match: the option sharing most words with the answer, else ``Z``.

    >>> stand_in(prompts(JudgeQuery("q", "it looks like a small dog", ("B",), ("cat", "dog")))[0])
    'B'
    >>> stand_in(prompts(JudgeQuery("q", "no idea", ("B",), ("cat", "dog")))[0])
    'Z'
    """
    texts, answer = _fields(prompt)
    words = set(re.findall(r"\w+", answer.lower()))
    shared = [len(words & set(re.findall(r"\w+", t.lower()))) for t in texts]
    best = max(shared, default=0)
    if best == 0 or shared.count(best) > 1:
        return "Z"
    return option_letters(len(texts))[shared.index(best)]


MMBENCH = JudgeProtocol(
    name="mmbench",
    kind="extract",
    source=(
        "open-compass/VLMEvalKit vlmeval/dataset/utils/multiple_choice.py (build_prompt, "
        "build_prompt_cn, extract_answer_from_item) @ 895762d302b923d9d1f24ac16a7a2cbc461bb1cf"
    ),
    texts=(_EN, _CN, _OPTIONS),
    prompts=prompts,
    read=read,
    stand_in=stand_in,
    max_tokens=16,
)
"""VLMEvalKit's MMBench matching protocol (``judge.mode=fallback``)."""
