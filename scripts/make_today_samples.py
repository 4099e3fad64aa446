"""Bundled offline samples for the benchmarks of today's Qwen-VL tables (run by `make samples`).

Each split is written in the schema of the Hub copy its task reads (``dataset.features`` in the
task's YAML). The pictures are synthetic (make_samples.py's shape scenes and fonts); the gold
answers have the real datasets' shapes: MM-Vet's ``<AND>``/``<OR>`` ground truths and its
comma-separated capabilities.
"""

from __future__ import annotations

import random
from typing import Any

import datasets
from make_samples import COLOURS, LATIN_BOLD, NUMBER_WORDS, SHAPES, encode, font, scene, write
from PIL import Image, ImageDraw

WORDS = ["STOP", "EXIT", "OPEN", "SALE", "CAFE", "PARK"]


def _sign(text: str, rng: random.Random) -> Image.Image:
    img = Image.new("RGB", (320, 160), (250, 250, 245))
    d = ImageDraw.Draw(img)
    colour = COLOURS[rng.choice(list(COLOURS))]
    d.rectangle((20, 30, 300, 130), fill=colour)
    d.text((60, 55), text, fill=(255, 255, 255), font=font(LATIN_BOLD, 44))
    return img


def build_mmvet() -> list[dict[str, Any]]:
    """Shape scenes and signs asked MM-Vet's kinds of questions, with its ground truths."""
    rng = random.Random(131)
    rows: list[dict[str, Any]] = []
    for n in range(52):
        kind = n % 4
        if kind == 0:  # recognition: one colour, sometimes with a synonym as <OR>
            img, objs = scene(rng, 1)
            colour = objs[0]["colour"]
            question = f"What color is the {objs[0]['shape']}?"
            answer, capability = (f"{colour}<OR>{colour}ish" if n % 8 == 0 else colour), "rec"
        elif kind == 1:  # OCR
            word = rng.choice(WORDS)
            img = _sign(word, rng)
            question, answer, capability = "What is written on the sign?", word, "ocr"
        elif kind == 2:  # counting and spatial: both parts needed
            img, objs = scene(rng, 2, size=(320, 200))
            left, right = objs[0]["shape"], objs[1]["shape"]
            question = "Which shapes are shown, from left to right?"
            answer, capability = f"{left}<AND>{right}", "rec,spat"
        else:  # math over what is seen
            k = rng.randint(2, 3)
            img, objs = scene(rng, k, size=(360, 200))
            question = "How many shapes are in the image? Answer with a number and a word."
            answer, capability = f"{k}<OR>{NUMBER_WORDS[k]}", "rec,math"
        rows.append({
            "question_id": f"v1_{n}",
            "image": encode(img, "PNG"),
            "question": question,
            "answer": answer,
            "image_source": "synthetic",
            "capability": capability,
        })  # fmt: skip
    assert {r["capability"] for r in rows} >= {"rec", "ocr"}
    assert all(s in SHAPES for r in rows if "<AND>" in r["answer"]
               for s in r["answer"].split("<AND>"))  # fmt: skip
    return rows


def build_pope() -> list[dict[str, Any]]:
    """Shape scenes asked POPE's question about a shape that is there (yes) or not (no), in its
    three sets; ``question_id`` restarts in each set, as in the Hub copy."""
    rng = random.Random(137)
    rows: list[dict[str, Any]] = []
    for category in ("adversarial", "popular", "random"):
        for q in range(18):
            img, objs = scene(rng, 2, size=(320, 200))
            present = {o["shape"] for o in objs}
            if q % 2 == 0:
                shape, answer = rng.choice(sorted(present)), "yes"
            else:
                absent = [s for s in SHAPES if s not in present] or ["star"]
                shape, answer = rng.choice(absent), "no"
            rows.append({
                "id": str(len(rows)),
                "question_id": str(q + 1),
                "question": f"Is there a {shape} in the image?",
                "answer": answer,
                "image_source": f"synthetic_{len(rows):04d}",
                "image": encode(img, "PNG"),
                "category": category,
            })  # fmt: skip
    return rows


OCR_KINDS = [  # (question_type, source set, question)
    ("Regular Text Recognition", "IIIT5K", "what is written in the image?"),
    ("Irregular Text Recognition", "svtp", "what is written in the image?"),
    ("Scene Text-centric VQA", "textVQA", "What word is on the red sign?"),
    ("Doc-oriented VQA", "docVQA", "What is the total amount?"),
    ("Key Information Extraction", "SROIE", "What is the company name?"),
    ("Handwritten Mathematical Expression Recognition", "HME100k",
     "Please write out the expression of the formula in the image using LaTeX format."),
]  # fmt: skip
FORMULAS = [("x^2+1", "x ^ { 2 } + 1"), ("a+b=c", "a + b = c"), ("Y-3", "Y - 3"),
            ("2n+1", "2 n + 1")]  # fmt: skip


def build_ocrbench() -> list[dict[str, Any]]:
    """Signs, receipts and formulas asked OCRBench's kinds of question; answers are lists."""
    rng = random.Random(139)
    rows: list[dict[str, Any]] = []
    for n in range(54):
        kind, source, question = OCR_KINDS[n % len(OCR_KINDS)]
        if source == "HME100k":
            shown, gold = FORMULAS[n % len(FORMULAS)]
            img = Image.new("RGB", (320, 120), (255, 255, 255))
            ImageDraw.Draw(img).text((30, 30), shown, fill=(20, 20, 20), font=font(LATIN_BOLD, 40))
            answers = [gold]
        elif source in ("docVQA", "SROIE"):
            total = f"{rng.randint(5, 99)}.{rng.randint(0, 99):02d}"
            company = rng.choice(["ACME TRADING", "BLUE OCEAN CAFE", "CITY HARDWARE"])
            img = Image.new("RGB", (320, 200), (255, 255, 255))
            d = ImageDraw.Draw(img)
            d.text((20, 20), company, fill=(0, 0, 0), font=font(LATIN_BOLD, 24))
            d.text((20, 120), f"TOTAL {total}", fill=(0, 0, 0), font=font(LATIN_BOLD, 24))
            answers = [total] if source == "docVQA" else [company, company.title()]
        else:
            word = rng.choice(WORDS)
            img = _sign(word, rng)
            answers = [word.lower(), word] if n % 3 else [word]
        rows.append({"dataset": source, "question": question, "question_type": kind,
                     "answer": answers, "image": encode(img, "PNG")})  # fmt: skip
    return rows


MME_TASKS = ("existence", "count", "color", "OCR", "position", "numerical_calculation",
             "code_reasoning")  # fmt: skip


def build_mme() -> list[dict[str, Any]]:
    """Two questions per image (a yes and a no), as MME asks them, over seven subtasks."""
    rng = random.Random(149)
    rows: list[dict[str, Any]] = []
    for n in range(28):
        task = MME_TASKS[n % len(MME_TASKS)]
        img, objs = scene(rng, 2, size=(320, 200))
        left, right = objs[0], objs[1]
        other = next(c for c in COLOURS if c != left["colour"])
        pairs = {
            "existence": (f"Is there a {left['shape']} in this image?",
                          "Is there a star in this image?"),
            "count": ("Are there two shapes in this image?",
                      "Are there five shapes in this image?"),
            "color": (f"Is the {left['shape']} on the left {left['colour']}?",
                      f"Is the {left['shape']} on the left {other}?"),
            "OCR": (f"Is the word in the image {right['shape']}?",
                    "Is the word in the image hello?"),
            "position": (f"Is the {left['shape']} on the left of the {right['shape']}?",
                         f"Is the {left['shape']} on the right of the {right['shape']}?"),
            "numerical_calculation": ("Is the answer to 2 + 3 equal to 5?",
                                      "Is the answer to 2 + 3 equal to 6?"),
            "code_reasoning": ("Does the code print 4?", "Does the code print 5?"),
        }[task]  # fmt: skip
        for question, answer in zip(pairs, ("Yes", "No"), strict=True):
            rows.append({"question_id": f"{task}/{n:04d}.png", "image": encode(img, "PNG"),
                         "question": f"{question} Please answer yes or no.", "answer": answer,
                         "category": task})  # fmt: skip
    return rows


MMSTAR_AXES = [("coarse perception", "image scene and topic"),
               ("fine-grained perception", "object counting"),
               ("instance reasoning", "single-instance reasoning"),
               ("logical reasoning", "diagram reasoning"),
               ("science & technology", "biology & chemistry & physics"),
               ("math", "numeric commonsense and calculation")]  # fmt: skip


def build_mmstar() -> list[dict[str, Any]]:
    """Shape scenes asked MMStar's way: the options inside the question, the letter the answer."""
    rng = random.Random(151)
    rows: list[dict[str, Any]] = []
    for n in range(54):
        category, axis = MMSTAR_AXES[n % len(MMSTAR_AXES)]
        k = rng.randint(1, 3)
        img, objs = scene(rng, k, size=(320, 200))
        if axis == "object counting":
            question, right = "How many shapes are in the image?", str(k)
            wrong = [str(v) for v in (4, 5, 6)]
        else:
            question, right = f"What color is the {objs[0]['shape']}?", objs[0]["colour"]
            wrong = [c for c in COLOURS if c != right][:3]
        options = [right, *wrong]
        rng.shuffle(options)
        letters = "ABCD"
        shown = ", ".join(f"{letters[i]}: {o}" for i, o in enumerate(options))
        rows.append({"index": n, "question": f"{question}\nOptions: {shown}",
                     "image": encode(img, "PNG"), "answer": letters[options.index(right)],
                     "category": category, "l2_category": axis,
                     "meta_info": {"source": "synthetic", "split": "val",
                                   "image_path": f"images/{n}.png"}})  # fmt: skip
    return rows


def build_llava_bench() -> list[dict[str, Any]]:
    """Shape scenes with a caption and GPT-4-like reference answers, in the three categories."""
    rng = random.Random(157)
    rows: list[dict[str, Any]] = []
    for n in range(51):
        img, objs = scene(rng, 2, size=(320, 200))
        left, right = objs[0], objs[1]
        caption = (f"A {left['colour']} {left['shape']} on the left and a {right['colour']} "
                   f"{right['shape']} on the right, on a light background.")  # fmt: skip
        category = ("conv", "detail", "complex")[n % 3]
        question, answer = {
            "conv": (f"What color is the {left['shape']}?",
                     f"The {left['shape']} is {left['colour']}."),
            "detail": ("Describe the image in detail.",
                       f"The image shows two shapes: a {left['colour']} {left['shape']} on the "
                       f"left and a {right['colour']} {right['shape']} on the right."),
            "complex": ("Which shape would you pick up first, and why?",
                        f"The {left['shape']} on the left, because it is the nearest to the "
                        "left edge and the first one a reader sees."),
        }[category]  # fmt: skip
        rows.append({"question_id": n, "question": question, "image": encode(img, "PNG"),
                     "caption": caption, "gpt_answer": answer, "category": category,
                     "image_id": f"{n // 3:03d}.png"})  # fmt: skip
    return rows


def build_seedbench() -> list[dict[str, Any]]:
    """SEED-Bench's layout: image rows (one picture in a list) and video rows (three frames).

    The video rows (dimensions 10-12) are in the sample as they are in the Hub copy, for the
    task's filter to leave out.
    """
    rng = random.Random(163)
    rows: list[dict[str, Any]] = []
    for n in range(60):
        video = n % 10 == 9
        k = rng.randint(1, 3)
        if video:
            frames = [scene(rng, k, size=(240, 160))[0] for _ in range(3)]
            question, right = "What happens to the shapes across the frames?", "They stay still"
            wrong = ["They spin", "They vanish", "They grow"]
            type_id = 10 + n % 3
        elif n % 3 == 0:
            img, objs = scene(rng, k, size=(320, 200))
            frames, question, right = [img], "How many shapes are in the image?", str(k)
            wrong = [str(v) for v in (4, 5, 6)]
            type_id = 5
        else:
            img, objs = scene(rng, k, size=(320, 200))
            frames, right = [img], objs[0]["colour"]
            question = f"What color is the {objs[0]['shape']}?"
            wrong = [c for c in COLOURS if c != right][:3]
            type_id = rng.choice([1, 2, 3, 4, 6, 7, 8, 9])
        options = [right, *wrong]
        rng.shuffle(options)
        rows.append({
            "answer": "ABCD"[options.index(right)],
            **{f"choice_{c}": o for c, o in zip("abcd", options, strict=True)},
            "data_id": f"{'video' if video else 'image'}/{n}.png", "data_type":
            "video" if video else "image", "question": question,
            "question_id": f"v{n}" if video else str(100000 + n), "question_type_id": type_id,
            "image": [encode(f, "PNG") for f in frames],
        })  # fmt: skip
    return rows


MMMU_SUBJECTS = ["Art", "Accounting", "Biology", "Clinical_Medicine", "History",
                 "Computer_Science"]  # fmt: skip
"""One subject of each of MMMU's six disciplines."""


def build_mmmu() -> list[dict[str, Any]]:
    """MMMU's layout: options as a Python list written as text, "[]" for an open question, the
    images in image_1 ... image_7 and named in the text (<image 1>), ids <split>_<Subject>_<n>."""
    rng = random.Random(167)
    rows: list[dict[str, Any]] = []
    for n in range(54):
        subject = MMMU_SUBJECTS[n % len(MMMU_SUBJECTS)]
        k = rng.randint(1, 3)
        img, objs = scene(rng, k, size=(320, 200))
        images: list[Image.Image] = [img]
        if n % 4 == 3:  # open: a number
            question, options, answer = "How many shapes are in <image 1>?", [], str(k)
        elif n % 8 == 5:  # two images, both named
            other, more = scene(rng, 1, size=(240, 160))
            images.append(other)
            question = (f"Is the {objs[0]['shape']} in <image 1> the same colour as the "
                        f"{more[0]['shape']} in <image 2>?")  # fmt: skip
            same = objs[0]["colour"] == more[0]["colour"]
            options, answer = ["Yes", "No"], "A" if same else "B"
        else:
            right = objs[0]["colour"]
            options = [right, *[c for c in COLOURS if c != right][:3]]
            rng.shuffle(options)
            question = f"<image 1> What color is the {objs[0]['shape']}?"
            answer = "ABCD"[options.index(right)]
        rows.append({
            "id": f"validation_{subject}_{n // len(MMMU_SUBJECTS) + 1}",
            "question": question, "options": repr(options), "explanation": "",
            **{f"image_{i}": (encode(images[i - 1], "PNG") if i <= len(images) else None)
               for i in range(1, 8)},
            "img_type": "['Diagrams']", "answer": answer,
            "topic_difficulty": ("Easy", "Medium", "Hard")[n % 3],
            "question_type": "open" if not options else "multiple-choice",
            "subfield": f"{subject} basics",
        })  # fmt: skip
    return rows


def build_hallusionbench() -> list[dict[str, Any]]:
    """HallusionBench's image split: sets of an original figure (visual_input 1) and edited
    ones (2), each asked the same questions (question_id), gt_answer 1 (yes) or 0 (no). A VS
    set's figure 0 is its text-only question (the non_image split): its figures start at 1."""
    rng = random.Random(173)
    rows: list[dict[str, Any]] = []
    sets = [("VD", "illusion"), ("VD", "ocr"), ("VS", "chart"), ("VS", "ocr"), ("VS", "map")]
    for set_id in range(9):
        category, subcategory = sets[set_id % len(sets)]
        first = 1 if category == "VS" else 0
        for figure_id in range(first, first + 3):  # the original, then two edits
            img, objs = scene(rng, 2, size=(320, 200))
            left, right = objs[0], objs[1]
            asked = [
                (f"Is the shape on the left a {left['shape']}?", True),
                (f"Is the shape on the right {rng.choice(list(COLOURS))}?", None),
            ]
            for question_id, (question, truth) in enumerate(asked):
                if truth is None:
                    truth = question.endswith(f"{right['colour']}?")
                rows.append({
                    "category": category, "subcategory": subcategory,
                    "visual_input": "1" if figure_id == first else "2", "set_id": str(set_id),
                    "figure_id": str(figure_id), "sample_note": "synthetic",
                    "question_id": str(question_id), "question": question,
                    "gt_answer_details": f"{'Yes' if truth else 'No'}: {question.rstrip('?')}.",
                    "gt_answer": "1" if truth else "0",
                    "filename": f"./hallusion_bench/{category}/{subcategory}/"
                                f"{set_id}_{figure_id}.png",
                    "image": encode(img, "PNG"),
                })  # fmt: skip
    return rows


def main() -> None:
    datasets.disable_progress_bars()
    write("mmvet", "test", build_mmvet())
    write("pope", "test", build_pope())
    write("ocrbench", "test", build_ocrbench())
    write("mme", "test", build_mme())
    write("mmstar", "val", build_mmstar())
    write("llava_bench", "train", build_llava_bench())
    write("seedbench", "test", build_seedbench())
    write("mmmu", "validation", build_mmmu())
    write("hallusionbench", "image", build_hallusionbench())


if __name__ == "__main__":
    main()
