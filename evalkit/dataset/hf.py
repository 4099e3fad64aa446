"""Rows from a Hugging Face dataset, streamed, with images left encoded (never decoded here)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evalkit.errors import ConfigError
from evalkit.structured import first_line

__all__ = ["MissingColumn", "check_hub", "iter_hf_rows"]

PROBE_TIMEOUT_S = 3.0
"""How long the Hub may take to accept a connection before a run says it cannot reach it."""
_REACHED: set[tuple[str, int]] = set()
"""Endpoints that accepted a connection in this process."""


class MissingColumn(ConfigError):
    """A column asked for (``columns``) is not in the dataset."""


def _offline() -> bool:
    values = (os.environ.get(v, "") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    return any(v.strip().lower() in ("1", "true", "yes", "on") for v in values)


def _no_way_there(path: str, why: str) -> ConfigError:
    return ConfigError(
        f"cannot reach the Hugging Face Hub for dataset '{path}' ({why}): check the network, "
        "or work offline: HF_HUB_OFFLINE=1 reads the copy in the local cache, "
        "dataset=local dataset.path=FILE_OR_DIR reads your own files"
    )


def check_hub(path: str, *, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Fail in one line, within seconds, when a Hub dataset cannot be reached.

    ``datasets`` would otherwise retry for half a minute and end in a traceback. Nothing is
    checked for a local folder or in offline mode (``HF_HUB_OFFLINE=1``), where the local
    cache answers; the endpoint is ``huggingface_hub``'s own (``HF_ENDPOINT``).
    """
    if _offline() or Path(path).expanduser().exists():
        return
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or constants.ENDPOINT)
    host = endpoint.hostname or ""
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    if (host, port) in _REACHED:
        return  # once per process: a run describes its source once per split
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            _REACHED.add((host, port))
            return
    except socket.gaierror:
        why = f"the name {host} does not resolve"
    except TimeoutError:
        why = f"no answer from {host} within {timeout_s:g} s"
    except OSError as exc:
        why = f"{host}: {exc.strerror or type(exc).__name__}"
    raise _no_way_there(path, why)


def iter_hf_rows(
    *,
    path: str,
    config: str | None,
    split: str,
    revision: str | None,
    image_column: str,
    streaming: bool = True,
    columns: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield rows of ``path``/``config``/``split`` (a Hub id or a local folder of data files).

    The image column is cast to ``Image(decode=False)`` so rows carry the original file bytes.
    ``columns`` reads only those (Parquet reads no other column chunk); a format that cannot
    select columns is read whole and cut row by row.
    """
    import datasets

    def load(**only: Any) -> Any:
        return datasets.load_dataset(
            path, name=config, split=split, revision=revision, streaming=streaming, **only
        )

    try:
        try:
            ds = load(**({"columns": columns} if columns else {}))
        except ValueError as exc:
            if not columns or "columns" not in str(exc):
                raise
            ds = load()  # JSON lines, CSV: no column selection in the builder
    except ConnectionError as exc:
        first = first_line(exc)
        raise _no_way_there(path, first) from exc
    except (FileNotFoundError, ValueError, datasets.exceptions.DatasetNotFoundError) as exc:
        first = first_line(exc)
        raise ConfigError(f"cannot open dataset '{path}' (split {split}): {first}") from exc
    features = ds.features
    if columns and features is not None:
        missing = [c for c in columns if c not in features]
        if missing:
            raise MissingColumn(f"no column '{missing[0]}' in split {split}")
    feature = features.get(image_column) if features is not None else None
    if isinstance(feature, datasets.Image):
        ds = ds.cast_column(image_column, datasets.Image(decode=False))
    elif isinstance(feature, datasets.List) and isinstance(feature.feature, datasets.Image):
        ds = ds.cast_column(image_column, datasets.List(datasets.Image(decode=False)))
    if columns and (features is None or set(features) != set(columns)):
        for row in ds:
            yield {c: row.get(c) for c in columns}
    else:
        yield from ds
