"""Write the Karpathy test split's image list for the flickr30k or coco_karpathy task.

Karpathy and Fei-Fei's splits (``caption_datasets.zip``: ``dataset_flickr30k.json``,
``dataset_coco.json``) mark each image ``train``, ``val``, ``test`` or ``restval``. The Hub
copies the tasks read have no such column, so the tasks keep only the rows a list names:

    python scripts/karpathy_split.py dataset_flickr30k.json  # flickr30k_karpathy_test.txt
    python scripts/karpathy_split.py dataset_coco.json       # coco_karpathy_test.txt

(both written to tasks/captioning/, beside the task files that name them).

The list holds one file name per line (what the copies' ``filename`` / ``file_name`` columns
hold), after a comment header naming the source file, its SHA-256 and the count, so a run's
``run.json`` (which records the list's path) can be traced to the exact split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

TASKS = Path(__file__).resolve().parent.parent / "tasks" / "captioning"
OUTPUT = {"flickr30k": "flickr30k_karpathy_test.txt", "coco": "coco_karpathy_test.txt"}
EXPECTED = {"flickr30k": 1000, "coco": 5000}


def test_files(source: Path, split: str = "test") -> tuple[str, list[str]]:
    """The dataset name and the file names of ``split``, in the file's order."""
    data = json.loads(source.read_text(encoding="utf-8"))
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise SystemExit(f"{source}: not a Karpathy split file (no 'images' list)")
    name = str(data.get("dataset", "")).lower()
    if name not in OUTPUT:
        raise SystemExit(f"{source}: dataset '{name}' is not one of {', '.join(OUTPUT)}")
    return name, [str(image["filename"]) for image in images if image.get("split") == split]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="dataset_flickr30k.json or dataset_coco.json")
    parser.add_argument("-o", "--output", type=Path, help="where to write (default: the task's)")
    args = parser.parse_args(argv)
    name, files = test_files(args.source)
    if len(files) != EXPECTED[name]:
        print(f"karpathy_split: {len(files)} test images, expected {EXPECTED[name]}",
              file=sys.stderr)  # fmt: skip
    digest = hashlib.sha256(args.source.read_bytes()).hexdigest()
    output = args.output or TASKS / OUTPUT[name]
    header = [f"# Karpathy test split of {name}: {len(files)} images",
              f"# from {args.source.name} (sha256 {digest}), caption_datasets.zip of",
              "# Karpathy & Fei-Fei, Deep Visual-Semantic Alignments (CVPR 2015)"]  # fmt: skip
    output.write_text("\n".join([*header, *files]) + "\n", encoding="utf-8")
    print(f"{output}: {len(files)} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
