"""Deterministic synthetic predictions and references for the scoring benchmarks."""

from __future__ import annotations

import random

WORDS = [
    "a",
    "man",
    "woman",
    "dog",
    "cat",
    "red",
    "blue",
    "green",
    "small",
    "large",
    "sitting",
    "standing",
    "on",
    "in",
    "with",
    "the",
    "of",
    "near",
    "table",
    "street",
    "grass",
    "water",
    "ball",
    "car",
    "bus",
    "train",
    "two",
    "three",
    "playing",
    "holding",
    "riding",
    "white",
    "black",
    "young",
    "old",
    "group",
    "people",
    "field",
    "beach",
    "road",
    "building",
    "tree",
    "sky",
]


def sentence(rng: random.Random, lo: int = 6, hi: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."


def captions(
    n_images: int, n_refs: int = 5, seed: int = 0
) -> tuple[dict[str, str], dict[str, list[str]]]:
    rng = random.Random(seed)
    refs = {str(i): [sentence(rng) for _ in range(n_refs)] for i in range(n_images)}
    preds = {}
    for key, group in refs.items():
        words = group[0].split()
        rng.shuffle(words)  # related to the references, not equal to them
        preds[key] = " ".join(words[: max(3, len(words) - 2)])
    return preds, refs


def short_answers(n: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    """Questions with ten answers drawn Zipf-like from ~20k distinct strings (as in VQAv2,
    where a few answers dominate and a long tail appears once or twice)."""
    rng = random.Random(seed)
    head = ["yes", "no", "2", "two", "red", "the cat", "Blue.", "3,000", "don't", "black/white"]
    tail = [f"{rng.choice(WORDS)} {rng.choice(WORDS)}{rng.choice(['', '.', '!', ' 12,5'])}"
            for _ in range(20_000)]  # fmt: skip
    pool = head + tail
    weights = [1.0 / (rank + 1) for rank in range(len(pool))]
    out = []
    for _ in range(n):
        answers = rng.choices(pool, weights=weights, k=11)
        out.append((answers[0], answers[1:]))
    return out
