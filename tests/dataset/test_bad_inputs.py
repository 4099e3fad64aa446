"""Bad input of each kind is one line before anything is sent, or an error row: never a trace."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import zlib
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from evalkit.testing.fake_server import FakeVLMServer

from ..conftest import main_in_process


def _png(width: int = 8, height: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buf, format="PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A few hundred bytes that declare a ``width`` x ``height`` grey PNG (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))  # fmt: skip


def _row(qid: str, image: str) -> dict[str, object]:
    return {"questionId": qid, "question": "Total?", "answers": ["1"], "image": image}


def test_images_pil_refuses_or_warns_about_are_error_rows(run_eval, tmp_path: Path) -> None:
    (tmp_path / "ok.png").write_bytes(_png())
    (tmp_path / "bomb.png").write_bytes(_png_header_only(20_000, 20_000))  # 400 MP: refused
    (tmp_path / "big.png").write_bytes(_png_header_only(10_000, 10_000))  # 100 MP: PIL warns
    rows = [
        _row("ok", "ok.png"),
        _row("bomb", "bomb.png"),
        _row("big", "big.png"),
        _row("ok2", "ok.png"),
    ]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    outcome = run_eval("task=docvqa", "dataset=local", f"dataset.path={tmp_path / 'rows.jsonl'}",
                       "limits.max_error_rate=null")  # fmt: skip
    samples = pd.read_parquet(outcome.run_dir / "samples.parquet").set_index("sample_id")
    assert (tmp_path / "bomb.png").stat().st_size < 300
    assert samples.loc["bomb", "error_type"] == "CorruptImage"
    assert "decompression bomb" in samples.loc["bomb", "error"]
    assert samples.loc["big", "error_type"] == "CorruptImage"
    assert (
        "PIL warns" in samples.loc["big", "error"]
        and "decompression bomb" in samples.loc["big", "error"]
    )
    assert list(samples.loc[["ok", "ok2"], "anls"]) == [1.0, 1.0]


def test_json_lines_that_are_not_utf8_or_not_objects_are_error_rows(
    run_eval, tmp_path: Path
) -> None:
    (tmp_path / "ok.png").write_bytes(_png())
    lines = [json.dumps(_row("a", "ok.png")).encode(), b'{"questionId": "b", "question": "caf\xe9"}',
             b"[1, 2, 3]", b"", json.dumps(_row("d", "ok.png")).encode()]  # fmt: skip
    (tmp_path / "rows.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    outcome = run_eval("task=docvqa", "dataset=local", f"dataset.path={tmp_path / 'rows.jsonl'}",
                       "limits.max_error_rate=null")  # fmt: skip
    samples = pd.read_parquet(outcome.run_dir / "samples.parquet")
    assert list(samples["sample_id"]) == ["a", "row-1", "row-2", "d"]
    errors = dict(zip(samples["sample_id"], samples["error"].fillna(""), strict=True))
    assert errors["row-1"] == "rows.jsonl:2: not UTF-8 (byte 0xe9 at column 37)"
    assert errors["row-2"] == "rows.jsonl:3: a row must be a JSON object, got list"
    assert list(samples["anls"].fillna(-1)) == [1.0, -1, -1, 1.0]


def _one_line(proc) -> str:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_paths_that_cannot_work_are_one_line_before_any_request(
    capsys: pytest.CaptureFixture[str], server: FakeVLMServer, tmp_path: Path
) -> None:
    """In this process (the command line's main; ``test_cli.py`` has such lines from new
    processes)."""

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return main_in_process(capsys, tmp_path, *args)

    api = ["backend=openai", f"backend.base_url={server.openai_url}", "backend.model=qwen-vl-plus",
           "backend.api_key_env=null", "dataset.limit=2"]  # fmt: skip
    (tmp_path / "a-file").write_text("not a folder")
    # results_dir under a regular file (root can write anywhere else, so this is the test)
    proc = cli(*api, f"results_dir={tmp_path / 'a-file' / 'results'}")
    line = _one_line(proc)
    assert "results_dir: cannot write the run folder" in line and "is a file, not a folder" in line
    # cache.path under a regular file, and a cache file that is no database
    proc = cli(*api, f"cache.path={tmp_path / 'a-file' / 'c.sqlite'}")
    line = _one_line(proc)
    assert f"cannot open the response cache ({tmp_path / 'a-file'} is a file, not a folder)" in line
    assert "cache.mode=off" in line
    proc = cli(*api, f"cache.path={tmp_path / 'a-file'}")
    assert "cannot open the response cache (file is not a database)" in _one_line(proc)
    # a dataset folder of the wrong files, and a file that only looks like Parquet
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(_png())
    proc = cli(*api, "dataset=local", f"dataset.path={tmp_path / 'images'}")
    assert "no .parquet or .jsonl files in this folder (found: .png)" in _one_line(proc)
    (tmp_path / "fake.parquet").write_text("a,b\n1,2\n")
    proc = cli(*api, "dataset=local", f"dataset.path={tmp_path / 'fake.parquet'}")
    assert "not a readable Parquet file" in _one_line(proc)
    assert server.received == []


@pytest.mark.parametrize("folder", ["results"])
def test_a_sweep_folder_that_cannot_be_written_is_one_line(
    cli, tmp_path: Path, folder: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    proc = cli("-m", "task=docvqa,vqav2", f"results_dir={tmp_path / 'a-file' / folder}")
    assert "results_dir: cannot write the run folder" in _one_line(proc)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (bytes(range(256)) * 4, "found binary data"),
        ("café\n".encode("latin-1") * 10, "a first line that is not UTF-8"),
    ],
    ids=["binary", "latin-1"],
)
def test_a_jsonl_file_that_is_not_text_is_one_line(cli, tmp_path: Path, content: bytes,
                                                     expected: str) -> None:  # fmt: skip
    path = tmp_path / "rows.jsonl"
    path.write_bytes(content)
    proc = cli("task=docvqa", "dataset=local", f"dataset.path={path}")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert f"dataset.path {path}: expected JSON lines (UTF-8 text" in line and expected in line


@pytest.mark.parametrize("content", [bytes(range(256)), "café\n".encode("latin-1")],
                         ids=["binary", "latin-1"])  # fmt: skip
def test_an_id_list_that_is_not_text_is_one_line(cli, tmp_path: Path, content: bytes) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_bytes(content)
    sample = Path(__file__).resolve().parents[2] / "evalkit/sample_data/flickr30k/test.parquet"
    proc = cli("task=flickr30k", "dataset=local", f"dataset.path={sample}",
               f"task.dataset.subset.file={ids}")  # fmt: skip
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert f"dataset.subset: {ids} is not a text file" in line and "one id per line" in line


def test_a_long_first_line_cut_mid_character_by_the_check_is_still_text(tmp_path: Path) -> None:
    from evalkit.dataset.local import data_files

    # a first line longer than the 4 KB the check reads, a 3-byte character across its edge
    line = json.dumps({"question": "a" * 4081 + "中文"}, ensure_ascii=False).encode() + b"\n"
    assert line[4095:4098].decode("utf-8") == "中"  # bytes 4095-4097: cut at 4096
    path = tmp_path / "rows.jsonl"
    path.write_bytes(line * 2)
    assert data_files(path, check=True) == [path]
