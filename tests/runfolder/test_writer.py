from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import evalkit
from evalkit.records import Usage
from evalkit.runfolder.schema import SAMPLE_COLUMNS, sample_schema
from evalkit.runfolder.writer import JOURNAL_NAME, SampleWriter, read_samples


def test_public_names() -> None:
    public = {n for n in dir(evalkit) if not n.startswith("_")}
    assert set(evalkit.__all__) == public
    for name in evalkit.__all__:
        assert callable(getattr(evalkit, name))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        evalkit.nope  # noqa: B018


def test_import_is_light() -> None:
    """``import evalkit`` and the command line's module load neither pyarrow nor numpy, so the
    command line can choose Arrow's allocator before Arrow loads."""
    code = "import sys, evalkit, evalkit.cli; print(sorted({'pyarrow', 'numpy', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_usage_sums() -> None:
    total = sum([Usage(1, 2, None), Usage(3, None, None), Usage(None, None, 7)], Usage())
    assert total == Usage(4, 2, 7)
    assert Usage() + Usage() == Usage(None, None, None)


def test_schema_has_no_secret_columns() -> None:
    names = {f.name for f in SAMPLE_COLUMNS}
    assert not {n for n in names if "key" in n or "secret" in n or n == "token"}
    assert sample_schema(["anls"]).names[-1] == "anls"


def _row(i: int) -> dict[str, object]:
    return {"run_id": "r", "task": "t", "sample_id": f"s{i}", "backend": "b", "model": "m",
            "anls": i / 10}  # fmt: skip


def test_journal_survives_a_crash_mid_batch(tmp_path: Path) -> None:
    schema = sample_schema(["anls"])
    writer = SampleWriter(tmp_path, schema, flush_every=2)
    for i in range(5):
        writer.append(_row(i))
    # the process dies here: rows 0-3 were flushed in two batches, row 4 is still buffered
    journal = tmp_path / JOURNAL_NAME
    data = journal.read_bytes()
    journal.write_bytes(data + data[-37:])  # and a torn write after the last complete batch
    table = read_samples(tmp_path)
    assert table.column("sample_id").to_pylist() == ["s0", "s1", "s2", "s3"]


def test_close_seals_parquet_in_dataset_order(tmp_path: Path) -> None:
    writer = SampleWriter(tmp_path, sample_schema(["anls", "CIDEr"]), flush_every=1)
    for i in (2, 0, 1):
        writer.append(_row(i))
    path = writer.close(updates={"CIDEr": {"s1": 0.5}}, order={"s0": 0, "s1": 1, "s2": 2})
    assert not (tmp_path / JOURNAL_NAME).exists()
    table = read_samples(tmp_path)
    assert path.name == "samples.parquet"
    assert table.column("sample_id").to_pylist() == ["s0", "s1", "s2"]
    assert table.column("CIDEr").to_pylist() == [None, 0.5, None]
    assert table.schema.field("CIDEr").type == pa.float64()


def test_read_samples_of_an_empty_folder(tmp_path: Path) -> None:
    from evalkit.errors import ConfigError

    with pytest.raises(ConfigError, match="holds no samples.parquet"):
        read_samples(tmp_path)
