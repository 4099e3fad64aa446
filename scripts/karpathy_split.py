"""Write the Karpathy test split's image list for the flickr30k or coco_karpathy task, offline.

Karpathy and Fei-Fei's splits (``caption_datasets.zip``: ``dataset_flickr30k.json``,
``dataset_coco.json``) mark each image ``train``, ``val``, ``test`` or ``restval``. The Hub
copies the tasks score have no such column; by default the tasks read the test split's file
names from a copy that kept it (``dataset.subset.hf_id``). Where that copy cannot be reached,
or to cut by Karpathy's own file, write the list and name it:

    python scripts/karpathy_split.py dataset_flickr30k.json  # flickr30k_karpathy_test.txt
    python -m evalkit task=flickr30k task.dataset.subset.file=flickr30k_karpathy_test.txt

(``dataset_coco.json`` gives ``coco_karpathy_test.txt``, in the current folder unless ``-o``).

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
    parser.add_argument("-o", "--output", type=Path,
                        help="where to write (default: ./flickr30k_karpathy_test.txt or "
                        "./coco_karpathy_test.txt)")  # fmt: skip
    args = parser.parse_args(argv)
    name, files = test_files(args.source)
    if len(files) != EXPECTED[name]:
        print(f"karpathy_split: {len(files)} test images, expected {EXPECTED[name]}",
              file=sys.stderr)  # fmt: skip
    digest = hashlib.sha256(args.source.read_bytes()).hexdigest()
    output = args.output or Path(OUTPUT[name])
    header = [f"# Karpathy test split of {name}: {len(files)} images",
              f"# from {args.source.name} (sha256 {digest}), caption_datasets.zip of",
              "# Karpathy & Fei-Fei, Deep Visual-Semantic Alignments (CVPR 2015)"]  # fmt: skip
    output.write_text("\n".join([*header, *files]) + "\n", encoding="utf-8")
    task = "flickr30k" if name == "flickr30k" else "coco_karpathy"
    print(f"{output}: {len(files)} images; use it with: python -m evalkit task={task} "
          f"task.dataset.subset.file={output}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
