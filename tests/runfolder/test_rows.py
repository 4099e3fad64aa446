"""Python rows → Arrow through pyarrow's JSON reader (evalkit.runfolder.rows)."""

from __future__ import annotations

import math
import random
import struct
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from evalkit.runfolder.rows import column, rows_to_table

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        ("x", pa.float64()),
        ("n", pa.int64()),
        ("ok", pa.bool_()),
        ("refs", pa.list_(pa.string())),
        ("box", pa.list_(pa.float64())),
    ]
)


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def test_float64_values_come_back_bit_for_bit() -> None:
    rng = random.Random(7)
    values = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(5000)]
    values += [0.1, -0.0, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, math.nan]
    table = rows_to_table([{"id": str(i), "x": v} for i, v in enumerate(values)], SCHEMA)
    got = table.column("x").to_pylist()
    assert [_bits(v) for v in got if v == v] == [_bits(v) for v in values if v == v]
    assert math.isnan(got[-1])


def test_the_same_table_as_from_pylist() -> None:
    rows = [
        {"id": "a", "x": 0.5, "n": 2**62, "ok": True, "refs": ["文档", "naïve \"q\"\n"], "box": [1.0, 2.5]},
        {"id": "b", "refs": [], "box": None, "ok": False},
        {"id": "c", "x": None, "n": None, "refs": None},
    ]  # fmt: skip
    table = rows_to_table(rows, SCHEMA)
    assert table.schema.equals(SCHEMA)
    assert table.equals(pa.Table.from_pylist(rows, schema=SCHEMA))


def test_numpy_scalars_are_stored_as_their_values() -> None:
    table = rows_to_table([{"id": "a", "x": np.float32(0.5), "n": np.int64(3)}], SCHEMA)
    assert table.to_pylist()[0]["n"] == 3 and table.to_pylist()[0]["x"] == 0.5


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"x": 1.0}, "required field was absent"),
        ({"id": None}, "required field was null"),
        ({"id": "a", "typo": 1}, "unexpected field"),
        ({"id": "a", "x": "high"}, "changed from number to string"),
    ],
)
def test_rows_that_do_not_fit_the_schema_are_refused(row: dict[str, object], message: str) -> None:
    with pytest.raises(pa.ArrowInvalid, match=message):
        rows_to_table([row], SCHEMA)


def test_an_object_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot store a object"):
        rows_to_table([{"id": "a", "x": object()}], SCHEMA)


def test_no_rows_is_an_empty_table_and_long_rows_fit() -> None:
    assert rows_to_table([], SCHEMA).num_rows == 0
    assert rows_to_table([], SCHEMA).schema.equals(SCHEMA)
    long = "x" * (5 << 20)  # longer than any default read block
    assert rows_to_table([{"id": long}], SCHEMA).column("id")[0].as_py() == long


def test_column_builds_one_typed_column() -> None:
    assert column([2, 0, None], pa.field("i", pa.int64())).to_pylist() == [2, 0, None]
    assert column([], pa.field("f", pa.float64())).type == pa.float64()


def test_sample_rows_never_import_pandas() -> None:
    """The point of the module: pyarrow's own converters import pandas (about 50 MB)."""
    code = (
        "import sys\n"
        "from evalkit.runfolder.rows import rows_to_table\n"
        "from evalkit.runfolder.schema import sample_schema\n"
        "rows_to_table([{'run_id': 'r', 'task': 't', 'sample_id': '1', 'backend': 'b', "
        "'model': 'm', 'anls': 1.0}], sample_schema(['anls']))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
