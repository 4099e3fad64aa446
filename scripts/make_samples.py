"""Render the bundled offline sample splits (deterministic; run `make samples` to rebuild).

Each split is written in exactly the schema of the Hugging Face dataset the task reads
(lmms-lab copies: DocVQA, VQAv2, textvqa, COCO-Caption2017, RefCOCO), as its task's YAML
declares it (``dataset.features``), as Parquet with the `datasets` feature metadata, under
evalkit/sample_data/<task>/<split>.parquet.

The pictures are synthetic: printed documents (forms, receipts, tables; some in Chinese),
scenes of coloured shapes, signs with text. Gold answers follow the real datasets' shape:
several acceptable answers for DocVQA, ten annotator answers for VQA (with the variation real
annotators show), five captions per image, referring expressions with COCO [x, y, w, h] boxes.

Needs a CJK font for the Chinese documents (Debian: fonts-wqy-microhei) and DejaVu Sans.
"""

from __future__ import annotations

import io
import math
import random
import sys
from pathlib import Path
from typing import Any

import datasets
from PIL import Image, ImageDraw, ImageFont

from evalkit.compose.tasks import load_task
from evalkit.dataset.features import hub_features

OUT = Path(__file__).resolve().parent.parent / "evalkit" / "sample_data"
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LATIN_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

COLOURS = {
    "red": (220, 40, 40), "green": (40, 160, 60), "blue": (40, 80, 220),
    "yellow": (235, 200, 30), "purple": (140, 60, 170), "orange": (245, 140, 30),
}  # fmt: skip
NEAR_COLOURS = {
    "red": ["dark red", "maroon"], "green": ["dark green", "lime"], "blue": ["navy", "dark blue"],
    "yellow": ["gold", "orange"], "purple": ["violet", "pink"], "orange": ["yellow", "red"],
}  # fmt: skip
SHAPES = ("circle", "square", "triangle")
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six"]


def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        sys.exit(
            f"make_samples: font {path} is missing "
            "(apt-get install fonts-wqy-microhei fonts-dejavu-core)"
        )


def encode(img: Image.Image, fmt: str) -> dict[str, Any]:
    buf = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(buf, format="JPEG", quality=88, optimize=True)
    else:
        img.save(buf, format="PNG", optimize=True)
    return {"bytes": buf.getvalue(), "path": None}


def task_features(task: str) -> datasets.Features:
    """The Hub schema the task's YAML declares (``dataset.features``).

    ``gqa/images``: the schema of the image configuration it joins (``dataset.images``).
    """
    name, _, part = task.partition("/")
    data = load_task(name).dataset
    if part:
        assert part == "images" and data.images is not None, task
        return hub_features(data.images.features)
    return hub_features(data.features)


def write(task: str, split: str, rows: list[dict[str, Any]]) -> None:
    """``rows`` as ``<task>/<split>.parquet``, in the schema the task's YAML declares."""
    folder = OUT / task
    folder.mkdir(parents=True, exist_ok=True)
    ds = datasets.Dataset.from_list(rows, features=task_features(task))
    path = folder / f"{split}.parquet"
    ds.to_parquet(str(path))
    print(
        f"{path.relative_to(OUT.parent.parent)}: {len(rows)} rows, "
        f"{path.stat().st_size // 1024} KiB"
    )


# ----------------------------------------------------------------------------- DocVQA
STORES = ["GREEN LEAF MARKET", "CITY HARDWARE", "BLUE OCEAN CAFE", "NORTHSIDE PHARMACY"]
ITEMS = [("Coffee", 3.5), ("Bagel", 2.25), ("Milk 1L", 1.89), ("Batteries AA", 6.99),
         ("Notebook", 4.5), ("Apples 1kg", 3.2), ("Tea", 2.75), ("Bread", 2.1)]  # fmt: skip
CN_STORES = ["华联超市", "新华书店", "美食广场"]
CN_ITEMS = [("苹果", 12.5), ("牛奶", 8.0), ("面包", 6.5), ("鸡蛋", 15.0), ("大米", 32.0)]
NAMES = ["Maria Lopez", "John Carter", "Wei Zhang", "Aisha Khan", "Tom Becker", "Yuki Sato"]
DEPTS = ["Research", "Finance", "Marketing", "Legal", "Operations"]


def money(x: float) -> str:
    return f"{x:.2f}"


def doc_receipt(rng: random.Random) -> tuple[Image.Image, list[tuple[str, list[str], str]]]:
    img = Image.new("L", (480, 640), 255)
    d = ImageDraw.Draw(img)
    store = rng.choice(STORES)
    day, month = rng.randint(1, 28), rng.randint(1, 12)
    date = f"{month:02d}/{day:02d}/1998"
    items = rng.sample(ITEMS, 4)
    d.text((40, 30), store, font=font(LATIN_BOLD, 26), fill=0)
    d.text((40, 70), f"Date: {date}", font=font(LATIN_FONT, 18), fill=0)
    y = 120
    for name, price in items:
        d.text((40, y), name, font=font(LATIN_FONT, 18), fill=0)
        d.text((360, y), money(price), font=font(LATIN_FONT, 18), fill=0)
        y += 34
    total = sum(p for _, p in items)
    d.line((40, y + 6, 440, y + 6), fill=0, width=2)
    d.text((40, y + 16), "TOTAL", font=font(LATIN_BOLD, 20), fill=0)
    d.text((350, y + 16), f"${money(total)}", font=font(LATIN_BOLD, 20), fill=0)
    item, price = items[1]
    return img, [
        ("What is the total amount?", [f"${money(total)}", money(total)], "table/list"),
        ("What is the name of the store?", [store, store.title()], "layout"),
        (f"What is the price of {item}?", [money(price), f"${money(price)}"], "table/list"),
        ("What is the date on the receipt?", [date], "others"),
    ]


def doc_form(rng: random.Random) -> tuple[Image.Image, list[tuple[str, list[str], str]]]:
    img = Image.new("L", (480, 640), 255)
    d = ImageDraw.Draw(img)
    name, dept = rng.choice(NAMES), rng.choice(DEPTS)
    emp = f"{rng.randint(10000, 99999)}"
    start = (
        f"{rng.choice(['March', 'June', 'October'])} {rng.randint(1, 28)}, 19{rng.randint(80, 99)}"
    )
    d.text((40, 30), "EMPLOYEE RECORD", font=font(LATIN_BOLD, 26), fill=0)
    fields = [("Name", name), ("Employee No.", emp), ("Department", dept), ("Start date", start)]
    y = 100
    for label, value in fields:
        d.rectangle((36, y - 6, 444, y + 34), outline=0)
        d.text((44, y), f"{label}:", font=font(LATIN_FONT, 18), fill=0)
        d.text((210, y), value, font=font(LATIN_FONT, 18), fill=0)
        y += 56
    return img, [
        ("What is the employee's name?", [name], "form"),
        ("What is the employee number?", [emp], "form"),
        ("Which department is mentioned?", [dept, f"{dept} department"], "form"),
        ("When is the start date?", [start], "form"),
    ]


def doc_table(rng: random.Random) -> tuple[Image.Image, list[tuple[str, list[str], str]]]:
    img = Image.new("L", (480, 640), 255)
    d = ImageDraw.Draw(img)
    year = rng.randint(1990, 2005)
    sales = [rng.randint(100, 999) for _ in range(4)]
    d.text((40, 30), f"QUARTERLY SALES {year}", font=font(LATIN_BOLD, 24), fill=0)
    d.text((40, 64), "(in thousands of units)", font=font(LATIN_FONT, 15), fill=0)
    y = 110
    for q, value in enumerate(sales, 1):
        d.rectangle((40, y, 440, y + 40), outline=0)
        d.line((240, y, 240, y + 40), fill=0)
        d.text((56, y + 10), f"Q{q}", font=font(LATIN_FONT, 18), fill=0)
        d.text((256, y + 10), f"{value:,}", font=font(LATIN_FONT, 18), fill=0)
        y += 40
    best = max(range(4), key=lambda i: sales[i])
    q = rng.randint(1, 4)
    return img, [
        (f"What were the sales in Q{q}?", [str(sales[q - 1])], "table/list"),
        (
            "Which quarter had the highest sales?",
            [f"Q{best + 1}", f"quarter {best + 1}"],
            "table/list",
        ),
        ("What year is the table for?", [str(year)], "layout"),
    ]


def doc_chinese(rng: random.Random) -> tuple[Image.Image, list[tuple[str, list[str], str]]]:
    img = Image.new("L", (480, 640), 255)
    d = ImageDraw.Draw(img)
    store = rng.choice(CN_STORES)
    items = rng.sample(CN_ITEMS, 3)
    d.text((40, 30), f"{store} 收据", font=font(CJK_FONT, 28), fill=0)
    date = f"2023年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
    d.text((40, 76), f"日期：{date}", font=font(CJK_FONT, 20), fill=0)
    y = 130
    for name, price in items:
        d.text((40, y), name, font=font(CJK_FONT, 20), fill=0)
        d.text((340, y), f"¥{price:.2f}", font=font(CJK_FONT, 20), fill=0)
        y += 38
    total = sum(p for _, p in items)
    d.text((40, y + 20), "合计", font=font(CJK_FONT, 22), fill=0)
    d.text((330, y + 20), f"¥{total:.2f}", font=font(CJK_FONT, 22), fill=0)
    return img, [
        ("合计金额是多少？", [f"¥{total:.2f}", f"{total:.2f}", f"{total:.2f}元"], "table/list"),
        ("What is the name of the store?", [store], "layout"),
        ("收据上的日期是哪天？", [date], "others"),
    ]


def build_docvqa() -> list[dict[str, Any]]:
    rng = random.Random(2024)
    makers = [doc_receipt, doc_form, doc_table, doc_chinese]
    rows = []
    for doc in range(20):
        img, qas = makers[doc % 4](rng)
        image = encode(img, "PNG")
        for k, (question, answers, qtype) in enumerate(qas[:3]):
            rows.append(
                {
                    "questionId": str(50000 + doc * 10 + k),
                    "question": question,
                    "question_types": [qtype],
                    "image": image,
                    "docId": 9000 + doc,
                    "ucsf_document_id": f"synth{doc:04d}",
                    "ucsf_document_page_no": "1",
                    "answers": answers,
                    "data_split": "val",
                }
            )
    return rows


# ----------------------------------------------------------------------------- shape scenes
def draw_shape(
    d: ImageDraw.ImageDraw, shape: str, box: tuple[int, int, int, int], rgb: tuple[int, int, int]
) -> list[float]:
    x1, y1, x2, y2 = box
    if shape == "circle":
        d.ellipse(box, fill=rgb)
        cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2
        return [
            v
            for a in range(16)
            for v in (cx + r * math.cos(a * math.pi / 8), cy + r * math.sin(a * math.pi / 8))
        ]
    if shape == "square":
        d.rectangle(box, fill=rgb)
        return [x1, y1, x2, y1, x2, y2, x1, y2]
    points = [((x1 + x2) / 2, y1), (x2, y2), (x1, y2)]
    d.polygon(points, fill=rgb)
    return [v for p in points for v in p]


def scene(
    rng: random.Random, n: int, size: tuple[int, int] = (320, 240)
) -> tuple[Image.Image, list[dict[str, Any]]]:
    w, h = size
    img = Image.new("RGB", size, (245, 242, 235))
    d = ImageDraw.Draw(img)
    objects: list[dict[str, Any]] = []
    slots = list(range(n))
    rng.shuffle(slots)
    cell = w // n
    for i in range(n):
        shape, colour = rng.choice(SHAPES), rng.choice(list(COLOURS))
        side = rng.randint(40, min(cell - 12, 90))
        x1 = i * cell + rng.randint(4, cell - side - 4)
        y1 = rng.randint(10, h - side - 10)
        box = (x1, y1, x1 + side, y1 + side)
        seg = draw_shape(d, shape, box, COLOURS[colour])
        objects.append({"shape": shape, "colour": colour, "box": box, "seg": seg, "slot": i})
    return img, objects


def annotators(
    rng: random.Random, answer: str, alternatives: list[str], p_alt: float = 0.15
) -> list[str]:
    return [
        rng.choice(alternatives) if alternatives and rng.random() < p_alt else answer
        for _ in range(10)
    ]


def build_vqav2() -> list[dict[str, Any]]:
    rng = random.Random(7)
    rows = []
    for img_no in range(20):
        img, objs = scene(rng, rng.randint(2, 4))
        image = encode(img, "JPEG")
        image_id = 100000 + img_no
        shapes = [o["shape"] for o in objs]
        questions: list[tuple[str, str, list[str], str, str]] = []
        unique = [o for o in objs if shapes.count(o["shape"]) == 1]
        if unique:
            o = rng.choice(unique)
            questions.append(
                (
                    f"What color is the {o['shape']}?",
                    o["colour"],
                    NEAR_COLOURS[o["colour"]],
                    "what color is the",
                    "other",
                )
            )
        target = rng.choice(SHAPES)
        count = shapes.count(target)
        questions.append(
            (
                f"How many {target}s are there?",
                str(count),
                [NUMBER_WORDS[count], str(count + 1)],
                "how many",
                "number",
            )
        )
        o = rng.choice(objs)
        colour = o["colour"] if rng.random() < 0.5 else rng.choice(list(COLOURS))
        present = any(x["colour"] == colour and x["shape"] == o["shape"] for x in objs)
        questions.append(
            (
                f"Is there a {colour} {o['shape']}?",
                "yes" if present else "no",
                ["no" if present else "yes"],
                "is there a",
                "yes/no",
            )
        )
        questions.append(
            (
                "Is the leftmost shape a circle?",
                "yes" if objs[0]["shape"] == "circle" else "no",
                [],
                "is the",
                "yes/no",
            )
        )
        for k, (q, answer, alts, qtype, atype) in enumerate(questions[:3]):
            answers = annotators(rng, answer, alts)
            most = max(set(answers), key=lambda a: (answers.count(a), a == answer))
            rows.append(
                {
                    "question_type": qtype,
                    "multiple_choice_answer": most,
                    "answers": [
                        {
                            "answer": a,
                            "answer_confidence": "yes" if a == answer else "maybe",
                            "answer_id": i + 1,
                        }
                        for i, a in enumerate(answers)
                    ],
                    "image_id": image_id,
                    "answer_type": atype,
                    "question_id": image_id * 1000 + k,
                    "question": q,
                    "image": image,
                }
            )
    return rows


# ----------------------------------------------------------------------------- TextVQA
SIGNS = [
    ("STOP", (200, 30, 30)), ("EXIT", (30, 140, 60)), ("OPEN", (30, 90, 200)),
    ("CAFE", (120, 70, 30)), ("HOTEL", (60, 60, 60)), ("PARKING", (30, 90, 200)),
    ("SALE", (220, 60, 20)), ("BAKERY", (150, 90, 40)), ("42", (40, 40, 40)),
    ("1984", (90, 30, 120)), ("7:30", (20, 20, 20)), ("ROUTE 66", (30, 30, 30)),
]  # fmt: skip
CN_SIGNS = [
    ("出口", (30, 140, 60)),
    ("停车场", (30, 90, 200)),
    ("欢迎", (200, 30, 30)),
    ("书店", (120, 70, 30)),
]


def build_textvqa() -> list[dict[str, Any]]:
    rng = random.Random(11)
    rows = []
    for n in range(50):
        chinese = n % 6 == 5
        word, rgb = rng.choice(CN_SIGNS if chinese else SIGNS)
        w, h = 400, 300
        img = Image.new("RGB", (w, h), (180 + rng.randint(0, 50), 200, 220))
        d = ImageDraw.Draw(img)
        d.rectangle((0, 200, w, h), fill=(120, 120, 110))
        pole_x = rng.randint(120, 280)
        d.rectangle((pole_x - 4, 120, pole_x + 4, 240), fill=(90, 90, 90))
        f = font(CJK_FONT if chinese else LATIN_BOLD, 40)
        tw = d.textlength(word, font=f)
        d.rectangle((pole_x - tw / 2 - 16, 50, pole_x + tw / 2 + 16, 120), fill=rgb)
        d.text((pole_x - tw / 2, 58), word, font=f, fill=(255, 255, 255))
        is_number = any(c.isdigit() for c in word)
        if chinese:
            question, answer, alts = "标志上写的是什么？", word, [word, f"{word}标志"]
        elif is_number:
            question, answer, alts = (
                "What number is shown on the sign?",
                word,
                [word, f"{word} sign"],
            )
        else:
            question, answer, alts = (
                "What does the sign say?",
                word.lower(),
                [word, word.title(), f"{word.lower()} sign"],
            )
        answers = annotators(rng, answer, alts, p_alt=0.3)
        rows.append(
            {
                "image_id": f"{rng.getrandbits(64):016x}",
                "question_id": 70000 + n,
                "question": question,
                "question_tokens": question.lower().rstrip("?？").split(),
                "image": encode(img, "JPEG"),
                "image_width": w,
                "image_height": h,
                "flickr_original_url": "",
                "flickr_300k_url": "",
                "answers": answers,
                "image_classes": ["Street sign", "Sign"],
                "set_name": "val",
                "ocr_tokens": word.lower().split(),
            }
        )
    return rows


# ----------------------------------------------------------------------------- COCO captions
CAPTION_QUESTION = "Please carefully observe the image and come up with a caption for the image"


def a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def caption_set(rng: random.Random, objs: list[dict[str, Any]]) -> list[str]:
    parts = [a(f"{o['colour']} {o['shape']}") for o in objs]
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
    n = len(objs)
    first, last = objs[0], objs[-1]
    captions = [
        f"{listed} on a beige background.",
        f"{NUMBER_WORDS[n].capitalize()} coloured shapes drawn on a plain background.",
        f"{a(first['colour'])} {first['shape']} to the left of "
        f"{a(last['colour'])} {last['shape']}.",
        f"Simple geometric shapes: {listed}.",
        f"An image with {listed}.",
    ]
    rng.shuffle(captions)
    return [c[0].upper() + c[1:] for c in captions]


def build_coco_caption(
    seed: int = 5, *, release: str = "val2017", license: int = 4
) -> list[dict[str, Any]]:
    """50 COCO-Caption rows: ``release`` ``val2017`` (COCO-Caption2017's naming) or ``val2014``."""
    rng = random.Random(seed)
    rows = []
    for n in range(50):
        img, objs = scene(rng, rng.randint(2, 3), size=(320, 240))
        if release == "val2017":
            image_id = 139 + n * 37
            name = f"{image_id:012d}.jpg"
            url = f"synthetic://coco_caption/val2017/{name}"
            date = f"2013-11-{(n % 28) + 1:02d} 12:00:00"
        else:
            image_id = 42 + n * 8191 + seed
            name = f"COCO_{release}_{image_id:012d}.jpg"
            url = f"synthetic://coco/{release}/{name}"
            date = "2013-11-14 16:28:13"
        rows.append(
            {
                "question_id": name,
                "image": encode(img, "JPEG"),
                "question": CAPTION_QUESTION,
                "answer": caption_set(rng, objs),
                "id": image_id,
                "license": license,
                "file_name": name,
                "coco_url": url,
                "height": 240,
                "width": 320,
                "date_captured": date,
            }
        )
    return rows


# ----------------------------------------------------------------------------- RefCOCO
REFCOCO_QUESTION = (
    "Please carefully observe the area circled in the image "
    "and come up with a caption for the area."
)


def expressions(o: dict[str, Any], objs: list[dict[str, Any]]) -> list[str]:
    same_shape = [x for x in objs if x["shape"] == o["shape"]]
    exprs = [f"{o['colour']} {o['shape']}"]
    if len(same_shape) == 1:
        exprs.append(f"the {o['shape']}")
    n = len(objs)
    where = "left" if o["slot"] == 0 else "right" if o["slot"] == n - 1 else "middle"
    place = "in the middle" if where == "middle" else f"on the {where}"
    exprs.append(f"{where} {o['shape']}" if len(same_shape) > 1 else f"{o['shape']} {place}")
    return exprs


def expressions_plus(o: dict[str, Any], objs: list[dict[str, Any]]) -> list[str]:
    """RefCOCO+ style: appearance only, no location words."""
    same_shape = [x for x in objs if x["shape"] == o["shape"]]
    exprs = [f"{o['colour']} {o['shape']}", f"the {o['colour']} one"]
    if len(same_shape) == 1:
        exprs.append(f"the {o['shape']}")
    return exprs


def expressions_g(o: dict[str, Any], objs: list[dict[str, Any]]) -> list[str]:
    """RefCOCOg style: longer, complete sentences."""
    n = len(objs)
    where = "left" if o["slot"] == 0 else "right" if o["slot"] == n - 1 else "middle"
    side = "in the middle of the picture" if where == "middle" else f"on the {where} side"
    return [f"a {o['colour']} {o['shape']} that is {side}",
            f"the {o['shape']} coloured {o['colour']} {side} of the image"]  # fmt: skip


def build_refcoco(
    split: str,
    n_objects: int,
    seed: int,
    task: str = "refcoco",
    exprs: Any = None,
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    img_no = 0
    while len(rows) < n_objects:
        img, objs = scene(rng, 3, size=(384, 256))
        image = encode(img, "JPEG")
        file_name = f"COCO_train2014_{500000 + seed * 1000 + img_no:012d}.jpg"
        img_no += 1
        for o in objs:
            if len(rows) >= n_objects:
                break
            x1, y1, x2, y2 = o["box"]
            rows.append(
                {
                    "question_id": f"{task}_{split}_{len(rows)}",
                    "image": image,
                    "question": REFCOCO_QUESTION,
                    "answer": (exprs or expressions)(o, objs),
                    "segmentation": [float(v) for v in o["seg"]],
                    "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                    "iscrowd": 0,
                    "file_name": file_name,
                }
            )
    return rows


def main() -> None:
    datasets.disable_progress_bars()
    write("docvqa", "validation", build_docvqa())
    write("vqav2", "validation", build_vqav2())
    write("textvqa", "validation", build_textvqa())
    write("coco_caption", "val", build_coco_caption())
    write("refcoco", "val", build_refcoco("val", 51, seed=3))
    write("refcoco", "testA", build_refcoco("testA", 21, seed=4))
    write("refcoco", "testB", build_refcoco("testB", 21, seed=6))
    main_more()


def main_more() -> None:
    """RefCOCO+ and RefCOCOg: the same scenes and schema, their own kinds of expression."""
    plus = {"task": "refcoco_plus", "exprs": expressions_plus}
    write("refcoco_plus", "val", build_refcoco("val", 51, seed=11, **plus))
    write("refcoco_plus", "testA", build_refcoco("testA", 15, seed=12, **plus))
    write("refcoco_plus", "testB", build_refcoco("testB", 15, seed=13, **plus))
    g = {"task": "refcocog", "exprs": expressions_g}
    write("refcocog", "val", build_refcoco("val", 51, seed=21, **g))
    write("refcocog", "test", build_refcoco("test", 15, seed=22, **g))
    reg = {"task": "refcocog_reg", "exprs": expressions_g}  # region description: the same kind
    write("refcocog_reg", "val", build_refcoco("val", 51, seed=31, **reg))
    write("refcocog_reg", "test", build_refcoco("test", 15, seed=32, **reg))


if __name__ == "__main__":
    main()
