"""Bundled offline samples for the Qwen-VL paper's other benchmarks (run by `make samples`).

Each split is written in the schema of the Hub copy its task reads (the dataset cards'
``dataset_info``, declared once in the task's YAML as ``dataset.features``): OK-VQA,
VizWiz-VQA, GQA (questions and images as two files, joined by id as the Hub copy's two
configurations are), ChartQA, InfographicVQA, OCR-VQA (one row per book cover with parallel
question and answer lists), AI2D and ScienceQA-IMG (options and the right one's index), NoCaps,
Flickr30k, COCO-Caption 2014 and MathVista (options that are numbers, integer and float answers).
The pictures are synthetic, drawn with the fonts and shape
scenes of make_samples.py; the gold answers have the real datasets' shapes (ten answers with
annotator variation, one string, several references), including the awkward cases: VizWiz's
unanswerable blurred photos, ChartQA's percentages, GQA answers that need the eval_mm clean-up.
"""

from __future__ import annotations

import random
from typing import Any

import datasets
from make_samples import (
    CJK_FONT,
    COLOURS,
    LATIN_BOLD,
    LATIN_FONT,
    NEAR_COLOURS,
    NUMBER_WORDS,
    SHAPES,
    annotators,
    build_coco_caption,
    caption_set,
    encode,
    font,
    scene,
    write,
)
from PIL import Image, ImageDraw, ImageFilter

# ----------------------------------------------------------------------------- OK-VQA
KNOWLEDGE = [  # (question about a shape's colour, answer for each colour, category)
    ("Which fruit often has the color of the {shape}?",
     {"red": "apple", "green": "lime", "blue": "blueberry", "yellow": "banana",
      "purple": "grape", "orange": "orange"}, "four"),
    ("What does a traffic light of the color of the {shape} tell a driver?",
     {"red": "stop", "green": "go", "yellow": "slow down", "blue": "nothing",
      "purple": "nothing", "orange": "slow down"}, "one"),
    ("Which sport is played on a surface of the color of the {shape}?",
     {"green": "soccer", "blue": "swimming", "red": "tennis", "orange": "basketball",
      "yellow": "volleyball", "purple": "bowling"}, "five"),
]  # fmt: skip
KNOWLEDGE_ALTS = {"apple": ["cherry", "apples"], "go": ["drive", "go ahead"],
                  "soccer": ["football", "golf"], "stop": ["halt"], "banana": ["lemon"],
                  "slow down": ["caution", "slow"]}  # fmt: skip


def build_okvqa() -> list[dict[str, Any]]:
    rng = random.Random(31)
    rows = []
    n = 0
    while len(rows) < 50:
        img, objs = scene(rng, rng.randint(2, 3))
        image = encode(img, "JPEG")
        shapes = [o["shape"] for o in objs]
        unique = [o for o in objs if shapes.count(o["shape"]) == 1]
        for o in unique[:2]:
            template, table, category = rng.choice(KNOWLEDGE)
            answer = table[o["colour"]]
            answers = annotators(rng, answer, KNOWLEDGE_ALTS.get(answer, []), p_alt=0.25)
            rows.append({"question_id": str(2971475 + n), "image": image,
                         "question": template.format(shape=o["shape"]), "answers": answers,
                         "question_type": category, "answer_type": "other"})  # fmt: skip
            n += 1
    return rows[:50]


# ----------------------------------------------------------------------------- VizWiz
def build_vizwiz() -> list[dict[str, Any]]:
    rng = random.Random(37)
    rows = []
    for n in range(50):
        img, objs = scene(rng, rng.randint(1, 3))
        kind = n % 5
        if kind == 4:  # a photo too blurred to answer: most annotators say so
            img = img.filter(ImageFilter.GaussianBlur(12))
            question = rng.choice(
                ["What is this?", "What color is this shirt?", "Can you tell me what this says?"]
            )
            answers = annotators(rng, "unanswerable", ["unsuitable", "blurry"], p_alt=0.2)
            category = "unanswerable"
        elif kind == 3:
            target = rng.choice(SHAPES)
            count = [o["shape"] for o in objs].count(target)
            question = f"how many {target}s are in this picture"
            answers = annotators(rng, str(count), [NUMBER_WORDS[count]], p_alt=0.3)
            category = "number"
        elif kind == 2:
            o = rng.choice(objs)
            colour = o["colour"] if rng.random() < 0.5 else rng.choice(list(COLOURS))
            present = colour == o["colour"]
            question = f"Is this {o['shape']} {colour}?"
            answers = annotators(rng, "yes" if present else "no", [], p_alt=0.0)
            category = "yes/no"
        else:
            o = objs[0]
            question = rng.choice(["What color is this?", "what colour is the shape on the left"])
            answers = annotators(rng, o["colour"], NEAR_COLOURS[o["colour"]], p_alt=0.3)
            category = "other"
        rows.append({"question_id": f"VizWiz_val_{n:08d}", "image": encode(img, "JPEG"),
                     "question": question, "answers": answers, "category": category})  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- GQA
def build_gqa() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The question rows and the image rows (two configurations on the Hub)."""
    rng = random.Random(41)
    rows: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    for img_no in range(17):
        img, objs = scene(rng, 3)
        image_id = f"n{15000 + img_no * 37}"
        images.append({"id": image_id, "image": encode(img, "JPEG")})
        left, middle = objs[0], objs[1]
        candidates = [
            (f"What color is the {left['shape']} on the left?", left["colour"],
             f"The {left['shape']} is {left['colour']}.", "query", "attr", "colorVerify"),
            (f"Is the {middle['shape']} {middle['colour']} or {rng.choice(list(COLOURS))}?",
             middle["colour"], f"The {middle['shape']} is {middle['colour']}.", "choose",
             "attr", "chooseAttr"),
            (f"Is there a {rng.choice(list(COLOURS))} {rng.choice(SHAPES)} in the picture?",
             None, "", "verify", "obj", "existAttr"),
            (f"Which shape is to the right of the {left['colour']} {left['shape']}?",
             middle["shape"], f"The shape is a {middle['shape']}.", "query", "rel",
             "relS"),
        ]  # fmt: skip
        for k, (question, answer, full, structural, semantic, detailed) in enumerate(
            candidates[: 3 if img_no % 2 else 4]
        ):
            if answer is None:  # the existence question: answer from the scene
                colour, shape = question.split("Is there a ")[1].split(" in")[0].split(" ")
                present = any(o["colour"] == colour and o["shape"] == shape for o in objs)
                answer = "yes" if present else "no"
                full = (
                    f"{'Yes' if present else 'No'}, there is {'a' if present else 'no'} "
                    f"{colour} {shape}."
                )
            rows.append({
                "id": f"{201000000 + img_no * 10 + k}", "imageId": image_id,
                "question": question, "answer": answer, "fullAnswer": full,
                "isBalanced": True,
                "groups": {"global": answer if structural == "query" else None,
                           "local": f"{k:02d}-{semantic}"},
                "entailed": "", "equivalent": f"{201000000 + img_no * 10 + k}",
                "types": {"structural": structural, "semantic": semantic, "detailed": detailed},
                "semanticStr": f"select: {left['shape']} -> {structural}",
            })  # fmt: skip
    return rows, images


# ----------------------------------------------------------------------------- ChartQA
TOPICS = [("Smartphone sales", ["Apple", "Samsung", "Xiaomi", "Oppo"], "%"),
          ("Coffee exports (tonnes)", ["Brazil", "Vietnam", "Colombia", "Ethiopia"], ""),
          ("Voter turnout", ["2008", "2012", "2016", "2020"], "%"),
          ("Museum visitors (millions)", ["Louvre", "Prado", "Uffizi", "Tate"], "")]  # fmt: skip


def bar_chart(rng: random.Random) -> tuple[Image.Image, str, list[str], list[float], str]:
    title, labels, unit = rng.choice(TOPICS)
    values = [float(rng.randint(5, 95)) if unit else round(rng.uniform(1, 12), 1)
              for _ in labels]  # fmt: skip
    w, h = 420, 300
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    d.text((20, 10), title, font=font(LATIN_BOLD, 18), fill=(20, 20, 20))
    top = max(values)
    colours = list(COLOURS.values())
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = 40 + i * 90
        bar = int(200 * value / top)
        d.rectangle((x, 260 - bar, x + 60, 260), fill=colours[i])
        text = f"{value:g}{unit}"
        d.text((x + 8, 240 - bar), text, font=font(LATIN_FONT, 14), fill=(0, 0, 0))
        d.text((x + 4, 268), label, font=font(LATIN_FONT, 13), fill=(0, 0, 0))
    return img, title, labels, values, unit


def build_chartqa() -> list[dict[str, Any]]:
    rng = random.Random(43)
    rows = []
    for n in range(25):
        img, _, labels, values, unit = bar_chart(rng)
        image = encode(img, "PNG")
        i, j = rng.sample(range(len(labels)), 2)
        best = labels[max(range(len(values)), key=lambda k: values[k])]
        human = ("Which category has the highest value?", best)
        difference = abs(values[i] - values[j])
        augmented = (f"What is the difference between {labels[i]} and {labels[j]}?",
                     f"{difference:g}{unit}" if n % 3 == 0 else f"{difference:g}")  # fmt: skip
        if n % 2:
            human = (f"What is the value of {labels[i]}?", f"{values[i]:g}")
        rows.append(
            {"type": "human_test", "question": human[0], "answer": human[1], "image": image}
        )
        rows.append(
            {
                "type": "augmented_test",
                "question": augmented[0],
                "answer": augmented[1],
                "image": image,
            }
        )
    return rows


# ----------------------------------------------------------------------------- InfographicVQA
FACTS = [("of adults read a book last year", "read a book"),
         ("of households own a pet", "own a pet"),
         ("of commuters cycle to work", "cycle to work"),
         ("的居民每天运动", "每天运动")]  # fmt: skip


def build_infovqa() -> list[dict[str, Any]]:
    rng = random.Random(47)
    rows = []
    for doc in range(17):
        w, h = 360, 540
        img = Image.new("RGB", (w, h), (250, 246, 236))
        d = ImageDraw.Draw(img)
        year = rng.randint(2015, 2023)
        city = rng.choice(["Lisbon", "Osaka", "Denver", "Nairobi", "上海"])
        cjk = city == "上海"
        d.rectangle((0, 0, w, 70), fill=(40, 80, 140))
        d.text(
            (16, 18), f"{city} in numbers, {year}", font=font(CJK_FONT, 22), fill=(255, 255, 255)
        )
        facts = rng.sample(FACTS[3:] if cjk else FACTS[:3], 1 if cjk else 2)
        y, qas = 100, []
        for phrase, short in facts:
            pct = rng.randint(11, 89)
            d.ellipse((20, y, 110, y + 90), fill=(240, 140, 40))
            d.text((34, y + 28), f"{pct}%", font=font(LATIN_BOLD, 26), fill=(255, 255, 255))
            d.text((124, y + 30), phrase, font=font(CJK_FONT, 16), fill=(30, 30, 30))
            question = (f"百分之多少的居民{short}？" if cjk
                        else f"What percentage of people {short}?")  # fmt: skip
            qas.append((question, [f"{pct}%", f"{pct} %"], ["single span"],
                        ["counting"] if cjk else []))  # fmt: skip
            y += 120
        population = rng.randint(2, 40)
        d.text(
            (20, y + 20),
            f"Population: {population} million",
            font=font(LATIN_FONT, 18),
            fill=(30, 30, 30),
        )
        qas.append(("What is the population in millions?", [str(population)],
                    ["question span"], []))  # fmt: skip
        qas.append(("Which year do these figures describe?", [str(year)], ["single span"], []))
        image = encode(img.quantize(colors=48), "PNG")  # flat colours: a palette PNG is small
        for k, (question, answers, atype, reasoning) in enumerate(qas[:3]):
            rows.append({"questionId": str(65000 + doc * 10 + k), "question": question,
                         "answers": answers, "answer_type": atype, "image": image,
                         "image_url": f"synthetic://infovqa/{doc}.png",
                         "operation/reasoning": reasoning, "ocr": "{}",
                         "data_split": "val"})  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- OCR-VQA
BOOKS = [("The Silent Harbor", "Mara Lindqvist", "Mystery, Thriller & Suspense"),
         ("Gardens of Tomorrow", "Ravi Menon", "Crafts, Hobbies & Home"),
         ("A Short History of Bread", "Elena Duarte", "Cookbooks, Food & Wine"),
         ("Learning Python Quickly", "Tom Becker", "Computers & Technology"),
         ("Love in the Rain", "Sofia Marino", "Romance"),
         ("Stars Over Kyoto", "Yuki Sato", "Science Fiction & Fantasy"),
         ("The Iron Valley", "James O'Neil", "History"),
         ("Mindful Running", "Aisha Khan", "Health, Fitness & Dieting")]  # fmt: skip


def build_ocrvqa() -> list[dict[str, Any]]:
    rng = random.Random(53)
    rows = []
    genres = sorted({g for _, _, g in BOOKS})
    for n in range(50):
        title, author, genre = BOOKS[n % len(BOOKS)]
        w, h = 240, 360
        colour = rng.choice(list(COLOURS.values()))
        img = Image.new("RGB", (w, h), colour)
        d = ImageDraw.Draw(img)
        words = title.split()
        lines = [" ".join(words[: len(words) // 2 + 1]), " ".join(words[len(words) // 2 + 1 :])]
        y = 60
        for line in (x for x in lines if x):
            d.text((18, y), line, font=font(LATIN_BOLD, 22), fill=(255, 255, 255))
            y += 34
        d.text((18, 300), author, font=font(LATIN_FONT, 16), fill=(255, 255, 255))
        other = rng.choice([g for g in genres if g != genre])
        questions = ["Who wrote this book?", "What is the title of this book?",
                     "What is the genre of this book?",
                     f"Is this a {genre.split(',')[0].split(' &')[0].lower()} book?",
                     f"Is this book related to {other}?"]  # fmt: skip
        answers = [author, title, genre, "Yes", "No"]
        keep = 5 if n % 2 else 4
        tokens = title.split() + author.split()
        rows.append({
            "image": encode(img, "JPEG"), "image_id": f"{1400000000 + n * 7919:010d}",
            "questions": questions[:keep], "answers": answers[:keep], "ocr_tokens": tokens,
            "ocr_info": [{"word": t, "bounding_box": {"width": 40.0, "height": 20.0,
                                                       "top_left_x": 18.0, "top_left_y": 60.0}}
                         for t in tokens],
            "title": title, "authorName": author, "genre": genre, "image_width": w,
            "image_height": h, "image_url": f"synthetic://ocrvqa/{n}.jpg", "set_name": "test",
        })  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- AI2D
CHAINS = [["grass", "rabbit", "fox"], ["algae", "fish", "heron"], ["seeds", "mouse", "owl"],
          ["leaves", "caterpillar", "bird"], ["plankton", "krill", "whale"]]  # fmt: skip


def food_web(rng: random.Random, chain: list[str]) -> Image.Image:
    img = Image.new("RGB", (360, 260), "white")
    d = ImageDraw.Draw(img)
    xs = [40, 150, 260]
    for x, name in zip(xs, chain, strict=True):
        d.rounded_rectangle((x - 10, 110, x + 80, 150), radius=8, outline=(40, 40, 40), width=2)
        d.text((x, 120), name, font=font(LATIN_FONT, 15), fill=(0, 0, 0))
    for a, b in zip(xs, xs[1:], strict=False):
        d.line((a + 80, 130, b - 12, 130), fill=(200, 30, 30), width=3)
        d.polygon([(b - 12, 124), (b - 2, 130), (b - 12, 136)], fill=(200, 30, 30))
    d.text(
        (20, 20),
        rng.choice(["Food chain", "A simple food chain"]),
        font=font(LATIN_BOLD, 18),
        fill=(0, 0, 0),
    )
    return img


def build_ai2d() -> list[dict[str, Any]]:
    rng = random.Random(73)
    rows = []
    every = sorted({x for chain in CHAINS for x in chain})
    for n in range(50):
        chain = CHAINS[n % len(CHAINS)]
        image = encode(food_web(rng, chain), "PNG")
        kind = n % 3
        if kind == 0:
            question, right = f"What eats the {chain[0]}?", chain[1]
        elif kind == 1:
            question, right = "Which is the top predator in this food chain?", chain[2]
        else:
            question, right = (
                f"What would happen to the {chain[2]} if the {chain[1]} died out?",
                "decrease",
            )
        if kind == 2:
            options = ["increase", "decrease", "stay the same", "cannot tell"]
        else:
            options = [right, *rng.sample([x for x in every if x != right], 3)]
            rng.shuffle(options)
        rows.append(
            {
                "question": question,
                "options": options,
                "answer": str(options.index(right)),
                "image": image,
            }
        )
    return rows


# ----------------------------------------------------------------------------- ScienceQA-IMG
def build_scienceqa() -> list[dict[str, Any]]:
    rng = random.Random(79)
    rows = []
    for n in range(50):
        img, objs = scene(rng, 2, size=(300, 200))
        kind = n % 3
        if kind == 0:  # magnets: the hint tells the rule
            d = ImageDraw.Draw(img)
            poles = rng.choice([("N", "S"), ("N", "N"), ("S", "S")])
            d.text((60, 170), poles[0], font=font(LATIN_BOLD, 20), fill=(0, 0, 0))
            d.text((220, 170), poles[1], font=font(LATIN_BOLD, 20), fill=(0, 0, 0))
            hint = (
                "Magnets can pull or push on each other. The two magnets touch at the poles shown."
            )
            question = "Will these magnets attract or repel each other?"
            choices = ["attract", "repel"]
            answer = 0 if poles[0] != poles[1] else 1
            subject, category = "natural science", "Magnets"
        elif kind == 1:
            shape = objs[0]["shape"]
            hint = ""
            question = "Which shape is on the left?"
            choices = rng.sample(list(SHAPES), 3)
            if shape not in choices:
                choices[0] = shape
            rng.shuffle(choices)
            answer = choices.index(shape)
            subject, category = "language science", "Shapes"
        else:
            colour = objs[1]["colour"]
            hint = "Look at the shape on the right."
            question = "What color is it?"
            choices = [colour, *rng.sample([c for c in COLOURS if c != colour], 3)]
            rng.shuffle(choices)
            answer = choices.index(colour)
            subject, category = "social science", "Colors"
        rows.append({
            "image": encode(img, "JPEG"), "question": question, "choices": choices,
            "answer": answer, "hint": hint, "task": "closed choice",
            "grade": f"grade{2 + n % 6}", "subject": subject, "topic": category.lower(),
            "category": category, "skill": f"Identify {category.lower()}", "lecture": "",
            "solution": f"The answer is {choices[answer]}.",
        })  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- MathVista
MATHVISTA_HINTS = {  # MathVista's query hints (data/query.json), by answer form
    "multi_choice": "Please answer the question and provide the correct option letter, e.g., A, "
                    "B, C, D, at the end.",
    "integer": "Please answer the question requiring an integer answer and provide the final "
               "value, e.g., 1, 2, 3, at the end.",
    "float": "Please answer the question requiring a floating-point number with one decimal "
             "place and provide the final value, e.g., 1.2, 1.3, 1.4, at the end.",
}  # fmt: skip


def build_mathvista() -> list[dict[str, Any]]:
    """Bar charts and shape scenes asked as MathVista asks: options that are numbers (the gold
    answer is the option's text), integers, floats at one decimal, and a yes/no choice."""
    rng = random.Random(97)
    rows = []
    for n in range(52):
        form = ("multi_choice", "integer", "float", "yes_no")[n % 4]
        if form == "yes_no":
            img, objs = scene(rng, 2, size=(300, 200))
            question = f"Is the shape on the left a {objs[0]['shape']}?"
            if n % 8 == 3:
                question = f"Is the shape on the left a {objs[1]['shape']}?"
            choices = ["Yes", "No"]
            answer = "Yes" if objs[0]["shape"] in question else "No"
            task, category = "visual question answering", "general-vqa"
            qtype, atype, precision = "multi_choice", "text", None
        else:
            img, _, labels, values, _ = bar_chart(rng)
            i, j = rng.sample(range(len(labels)), 2)
            task, category = "figure question answering", "math-targeted-vqa"
            if form == "multi_choice":
                total = values[i] + values[j]
                question = f"What is the sum of {labels[i]} and {labels[j]}?"
                near = (total, total + 1, total + 5, total - 2)
                choices = sorted({f"{value:g}" for value in near})
                answer = f"{total:g}"
                qtype, atype, precision = "multi_choice", "text", None
            elif form == "integer":
                question = "How many bars are there?"
                choices, answer = None, str(len(labels))
                qtype, atype, precision = "free_form", "integer", None
            else:
                question = f"What is the ratio of {labels[i]} to {labels[j]}?"
                choices, answer = None, str(round(values[i] / values[j], 1))
                qtype, atype, precision = "free_form", "float", 1.0
        hint = MATHVISTA_HINTS["multi_choice" if qtype == "multi_choice" else atype]
        query = f"Hint: {hint}\nQuestion: {question}"
        if choices:
            letters = "ABCDEFG"
            lines = [f"({letters[k]}) {c}" for k, c in enumerate(choices)]
            query += "\nChoices:\n" + "\n".join(lines)
        pid = str(n + 1)
        rows.append({
            "pid": pid, "question": question, "image": f"images/{pid}.png",
            "decoded_image": encode(img, "PNG"), "choices": choices, "unit": None,
            "precision": precision, "answer": answer, "question_type": qtype, "answer_type": atype,
            "metadata": {"category": category, "context": "bar chart" if form != "yes_no" else
                         "synthetic scene", "grade": "daily life", "img_height": img.height,
                         "img_width": img.width, "language": "english",
                         "skills": ["arithmetic reasoning", "statistical reasoning"],
                         "source": "evalkit synthetic", "split": "testmini", "task": task},
            "query": query,
        })  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- MMBench
CN_COLOURS = {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "purple": "紫色",
              "orange": "橙色"}  # fmt: skip
CN_SHAPES = {"circle": "圆形", "square": "正方形", "triangle": "三角形"}


def build_mmbench(chinese: bool) -> list[dict[str, Any]]:
    rng = random.Random(83 if chinese else 89)
    rows = []
    for n in range(50):
        img, objs = scene(rng, 3, size=(320, 220))
        kind = n % 4
        left = objs[0]
        if kind == 3:  # a sign with text: OCR, Chinese in the Chinese set
            d = ImageDraw.Draw(img)
            word = rng.choice(["出口", "书店", "欢迎"] if chinese else ["EXIT", "SHOP", "OPEN"])
            d.rectangle((110, 160, 210, 210), fill=(30, 90, 200))
            d.text((124, 166), word, font=font(CJK_FONT, 30), fill=(255, 255, 255))
            pool = (["出口", "书店", "欢迎", "停车"] if chinese
                    else ["EXIT", "SHOP", "OPEN", "STOP"])  # fmt: skip
            right, question = word, "标志上写的是什么？" if chinese else "What does the sign say?"
            options = [right, *rng.sample([w for w in pool if w != right], 2)]
            category, l2 = "ocr", "Fine-grained Perception (instance-level)"
        elif kind == 2:  # two options only: C and D empty, as MMBench's yes/no-like items
            colour = left["colour"] if rng.random() < 0.5 else rng.choice(list(COLOURS))
            right_yes = colour == left["colour"]
            if chinese:
                question = f"最左边的形状是{CN_COLOURS[colour]}的吗？"
                options, right = ["是", "否"], "是" if right_yes else "否"
            else:
                question = f"Is the leftmost shape {colour}?"
                options, right = ["yes", "no"], "yes" if right_yes else "no"
            category, l2 = "attribute_recognition", "Fine-grained Perception (instance-level)"
        else:
            names = CN_COLOURS if chinese else {c: c for c in COLOURS}
            right = names[left["colour"]]
            others = [names[c] for c in COLOURS if c != left["colour"]]
            options = [right, *rng.sample(others, 3)]
            shape = CN_SHAPES[left["shape"]] if chinese else left["shape"]
            question = (f"图中最左边的{shape}是什么颜色？" if chinese
                        else f"What color is the leftmost {shape}?")  # fmt: skip
            category, l2 = "attribute_recognition", "Fine-grained Perception (instance-level)"
        rng.shuffle(options)
        letters = "ABCD"
        cells = {k: (options[i] if i < len(options) else None) for i, k in enumerate(letters)}
        hint = None
        if n % 5 == 0:
            hint = "图中有三个形状。" if chinese else "The picture shows three shapes."
        rows.append({
            "index": n + 1000 if chinese else str(n + 2000),
            "question": question, "hint": hint, "answer": letters[options.index(right)],
            **cells, "category": category, "image": encode(img, "JPEG"), "source": "synthetic",
            "L2-category": l2, "comment": "", "split": "dev",
        })  # fmt: skip
    return rows + circular_passes(rows, chinese)


PASSES = 1_000_000
"""MMBench's release numbers pass ``k`` of question ``i`` as ``i + k * PASSES``."""


def circular_passes(rows: list[dict[str, Any]], chinese: bool) -> list[dict[str, Any]]:
    """The other passes of each question, as MMBench's release holds them: after every first
    pass, the rows of pass 1, then of pass 2, ..., the options rotated ``k`` places (the
    right letter moves with them). Question 1 (four options) has three passes only, as some
    of the release's do."""
    letters = "ABCD"
    out = []
    for k in range(1, 4):
        for n, row in enumerate(rows):
            options = [row[c] for c in letters if row[c] is not None]
            if k >= len(options) or (n == 1 and k == 3):
                continue
            right = options[letters.index(row["answer"])]
            turned = options[k:] + options[:k]
            index = int(row["index"]) + k * PASSES
            out.append({**row, **{c: (turned[i] if i < len(turned) else None)
                                  for i, c in enumerate(letters)},
                        "index": index if chinese else str(index),
                        "answer": letters[turned.index(right)]})  # fmt: skip
    return out


# ----------------------------------------------------------------------------- Chinese OCR
SHOPS = ["华联超市", "新华书店", "美食广场", "平安药房", "老王面馆", "光明眼镜", "阳光花店"]
STREETS = ["人民路", "中山路", "解放大街", "长江路", "和平街"]


def build_chinese_ocr() -> list[dict[str, Any]]:
    rng = random.Random(97)
    rows = []
    for n in range(50):
        w, h = 360, 240
        img = Image.new("RGB", (w, h), (200 + rng.randint(0, 40), 210, 225))
        d = ImageDraw.Draw(img)
        if n % 2 == 0:  # ESTVQA_cn: a shop front, a question about its text
            shop, street = rng.choice(SHOPS), rng.choice(STREETS)
            d.rectangle((20, 30, 340, 110), fill=(170, 30, 30))
            d.text((40, 45), shop, font=font(CJK_FONT, 44), fill=(255, 235, 160))
            d.text((40, 150), f"地址：{street}{rng.randint(1, 300)}号", font=font(CJK_FONT, 22),
                   fill=(20, 20, 20))  # fmt: skip
            question, answer = rng.choice([("这家店的名字是什么?", shop),
                                           ("这家店在哪条路上?", street)])  # fmt: skip
            name = "ESTVQA_cn"
        else:  # ReCTS: a cropped sign, what does it say
            text = rng.choice(SHOPS + STREETS)
            d.rectangle((10, 60, 350, 180), fill=(30, 90, 60))
            d.text((30, 90), text, font=font(CJK_FONT, 52), fill=(255, 255, 255))
            question, answer, name = "图中的文字是什么?", text, "ReCTS"
        rows.append({"image": encode(img, "JPEG"), "dataset_name": name, "id": n,
                     "question": question, "answers": answer, "type": "Chinese"})  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- captions
def _ten(rng: random.Random, objs: list[dict[str, Any]]) -> list[str]:
    first = caption_set(rng, objs)
    second = caption_set(random.Random(rng.random()), objs)
    return first + [c.replace("shapes", "figures").replace("image", "picture") for c in second]


def build_nocaps() -> list[dict[str, Any]]:
    rng = random.Random(59)
    rows = []
    for n in range(50):
        img, objs = scene(rng, rng.randint(2, 3), size=(320, 240))
        image_id = n
        name = f"{rng.getrandbits(64):016x}.jpg"
        rows.append({
            "image": encode(img, "JPEG"), "image_coco_url": f"synthetic://nocaps/{name}",
            "image_date_captured": "2018-11-21 11:04:55", "image_file_name": name,
            "image_height": 240, "image_width": 320, "image_id": image_id, "image_license": 0,
            "image_open_images_id": name[:-4], "annotations_ids": list(range(n * 10, n * 10 + 10)),
            "annotations_captions": _ten(rng, objs),
        })  # fmt: skip
    return rows


def build_flickr30k() -> list[dict[str, Any]]:
    rng = random.Random(61)
    rows = []
    for n in range(50):
        img, objs = scene(rng, rng.randint(2, 3), size=(320, 240))
        img_id = 1000092795 + n * 104729
        rows.append({"image": encode(img, "JPEG"), "caption": caption_set(rng, objs),
                     "sentids": [str(n * 5 + k) for k in range(5)], "img_id": str(n),
                     "filename": f"{img_id}.jpg"})  # fmt: skip
    return rows


def main() -> None:
    datasets.disable_progress_bars()
    write("okvqa", "val2014", build_okvqa())
    write("vizwiz", "val", build_vizwiz())
    rows, images = build_gqa()
    write("gqa", "testdev", rows)
    write("gqa/images", "testdev", images)
    write("chartqa", "test", build_chartqa())
    write("infovqa", "validation", build_infovqa())
    write("ocrvqa", "test", build_ocrvqa())
    write("ai2d", "test", build_ai2d())
    write("scienceqa_img", "test", build_scienceqa())
    write("mathvista", "testmini", build_mathvista())
    write("mmbench_en", "dev", build_mmbench(chinese=False))
    write("mmbench_cn", "dev", build_mmbench(chinese=True))
    write("chinese_ocr", "test", build_chinese_ocr())
    write("nocaps", "validation", build_nocaps())
    write("flickr30k", "test", build_flickr30k())
    write("coco_caption_2014", "val", build_coco_caption(67, release="val2014", license=3))
    write("coco_karpathy", "val", build_coco_caption(71, release="val2014", license=3))


if __name__ == "__main__":
    main()
