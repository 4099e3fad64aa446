"""Loading a local checkpoint for ``backend=hf``: device, dtype, model, processor, fingerprint.

Every failure a user can cause is one :class:`~evalkit.errors.ConfigError` line: the extra not
installed, a CUDA device that is not there, a path that is no checkpoint, a checkpoint that
needs its own code, one without a chat template.

Without torchvision, transformers 5 cannot build a Qwen2-VL-style processor at all (its video
processor needs it). :func:`load_processor` then builds an image-only processor of the same
class from the checkpoint's own image processor and tokenizer, so images and text still go
through the library's code.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.config import HFConfig
from evalkit.errors import ConfigError
from evalkit.structured import first_line

__all__ = ["Loaded", "fingerprint", "load", "load_processor", "pick_device", "pick_dtype"]

log = logging.getLogger(__name__)

INSTALL = "backend=hf needs torch and transformers: pip install -e '.[hf]' in evalkit's clone"
_WEIGHTS = (".safetensors", ".bin", ".json", ".jinja", ".model", ".txt", ".py")


@dataclass
class Loaded:
    """A loaded checkpoint and what the backend needs to know about it."""

    model: Any
    processor: Any
    device: str
    dtype: str
    fingerprint: str
    image_token_id: int | None
    eos_ids: tuple[int, ...]
    pad_id: int


def _torch() -> Any:
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"{INSTALL} ({exc.name} is missing)") from exc
    return torch


def pick_device(wanted: str, torch: Any) -> str:
    """``auto`` → ``cuda`` when there is one, else ``cpu``; a missing device is one line."""
    wanted = wanted.strip().lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cpu":
        return "cpu"
    if wanted == "cuda" or wanted.startswith("cuda:"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = (
            int(wanted.partition(":")[2] or 0) if wanted[5:].isdigit() or wanted == "cuda" else -1
        )
        if index < 0:
            raise ConfigError(f"backend.device={wanted}: write cpu, cuda or cuda:N")
        if index >= count:
            raise ConfigError(
                f"backend.device={wanted}: this machine has {count} CUDA device(s) "
                "visible to torch; use backend.device=cpu or another index"
            )
        return wanted
    raise ConfigError(f"backend.device={wanted}: write auto, cpu, cuda or cuda:N")


def pick_dtype(wanted: str, device: str) -> str:
    """``auto`` → ``float32`` on CPU, the checkpoint's own (``auto``) on CUDA."""
    wanted = wanted.strip().lower()
    if wanted == "auto":
        return "float32" if device == "cpu" else "auto"
    if wanted not in ("bfloat16", "float16", "float32"):
        raise ConfigError(f"backend.dtype={wanted}: write auto, bfloat16, float16 or float32")
    return wanted


def fingerprint(folder: Path, commit: str | None = None) -> str:
    """What identifies the weights at ``folder``, for the cache key.

    A hub snapshot has its commit hash. A local folder gets a digest of the name, size and
    modification time (ns) of every weight, config, tokenizer and template file: hashing the
    contents would read gigabytes at every start, and ``save_pretrained`` (or a copy) rewrites
    what changed, so a changed checkpoint at the same path gets a new key. The safetensors
    index's contents are hashed too, as they name every shard.
    """
    if commit:
        return f"commit:{commit}"
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in _WEIGHTS:
            stat = path.stat()
            digest.update(
                f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
            )
            if path.name.endswith(".index.json"):
                digest.update(path.read_bytes())
    return f"files:{digest.hexdigest()[:16]}"


def load_processor(source: str, config: HFConfig, model_type: str) -> Any:
    """The checkpoint's processor (an image-only one of its class without torchvision).

    ``min_pixels``/``max_pixels`` are applied; a checkpoint without a chat template is one line.
    """
    import transformers
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    common: dict[str, Any] = {"revision": config.revision,
                              "trust_remote_code": config.trust_remote_code}  # fmt: skip
    pixels = {k: v for k, v in (("min_pixels", config.min_pixels),
                                ("max_pixels", config.max_pixels)) if v is not None}  # fmt: skip
    try:
        processor = AutoProcessor.from_pretrained(source, **common, **pixels)
    except ImportError as exc:
        if "torchvision" not in str(exc).lower():
            raise
        from transformers.models.auto import processing_auto

        name = processing_auto.PROCESSOR_MAPPING_NAMES.get(model_type)
        base = getattr(transformers, name) if name else None
        if base is None:
            raise ConfigError(f"backend.model={source}: its processor needs torchvision") from exc
        tokenizer = AutoTokenizer.from_pretrained(source, **common)
        images = AutoImageProcessor.from_pretrained(source, **common, **pixels)
        template = tokenizer.chat_template or _template_file(source)
        processor = _image_only(base)(image_processor=images, tokenizer=tokenizer,
                                      chat_template=template)  # fmt: skip
        log.info("torchvision is not installed: using an image-only %s", base.__name__)
    if not getattr(processor, "chat_template", None):
        raise ConfigError(
            f"backend.model={source}: the checkpoint has no chat template "
            "(chat_template.jinja or tokenizer_config.json's chat_template); evalkit needs one"
        )
    return processor


def _template_file(source: str) -> str | None:
    path = Path(source) / "chat_template.jinja"
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _image_only(base: type) -> type:
    """A subclass of ``base`` whose parts are its image processor and tokenizer only."""

    class ImageOnlyProcessor(base):  # type: ignore[misc]
        @classmethod
        def get_attributes(cls) -> list[str]:
            return [a for a in super().get_attributes() if "video" not in a]

    ImageOnlyProcessor.__name__ = f"ImageOnly{base.__name__}"
    return ImageOnlyProcessor


def load(config: HFConfig) -> Loaded:
    """Load ``config.model`` (a folder or a hub id) onto the chosen device, in eval mode."""
    torch = _torch()
    from transformers import AutoModelForImageTextToText

    device = pick_device(config.device, torch)
    dtype = pick_dtype(config.dtype, device)
    source = (
        str(Path(config.model).expanduser())
        if Path(config.model).expanduser().exists()
        else config.model
    )
    options: dict[str, Any] = {
        "revision": config.revision,
        "trust_remote_code": config.trust_remote_code,
        "dtype": dtype if dtype == "auto" else getattr(torch, dtype),
    }
    if config.attn_implementation:
        options["attn_implementation"] = config.attn_implementation
    try:
        model = AutoModelForImageTextToText.from_pretrained(source, **options)
    except Exception as exc:
        _raise_damaged(source, exc)
        if not isinstance(exc, OSError | ValueError | KeyError):
            raise
        raise ConfigError(_load_error(source, exc, config.trust_remote_code)) from exc
    model = model.to(device).eval()
    try:
        processor = load_processor(source, config, model.config.model_type)
    except Exception as exc:
        _raise_damaged(source, exc)
        raise
    tokenizer = processor.tokenizer
    eos = {tokenizer.eos_token_id, *_ids(getattr(model.generation_config, "eos_token_id", None))}
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    image_token = getattr(model.config, "image_token_id", None)
    if image_token is None:
        image_token = getattr(processor, "image_token_id", None)
    commit = getattr(model.config, "_commit_hash", None) if not Path(source).is_dir() else None
    folder = Path(source) if Path(source).is_dir() else Path(_snapshot(model) or source)
    loaded_dtype = str(dtype if dtype != "auto" else model.dtype).removeprefix("torch.")
    eos_ids = tuple(sorted(i for i in eos if i is not None))
    return Loaded(model, processor, device, loaded_dtype, fingerprint(folder, commit),
                  image_token, eos_ids, int(pad))  # fmt: skip


def _ids(value: Any) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, list | tuple) else [int(value)]


def _snapshot(model: Any) -> str | None:
    return getattr(model.config, "name_or_path", None)


def damaged_file(folder: Path) -> tuple[Path, str] | None:
    """The first file of a checkpoint folder that cannot be read, and why.

    Every ``*.safetensors`` file's header (and so its size) is checked, and every ``*.json``
    file is parsed: a download cut short or a corrupt index is named, not a traceback.
    """
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return path, f"not valid JSON ({type(exc).__name__})"
    for path in sorted(folder.glob("*.safetensors")):
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="numpy") as handle:
                handle.keys()
        except Exception as exc:  # SafetensorError and friends: what is wrong is in the text
            text = first_line(exc)
            return path, f"not a complete safetensors file ({text})"
    return None


def _raise_damaged(source: str, exc: BaseException) -> None:
    found = damaged_file(Path(source))
    if found is not None:
        path, why = found
        raise ConfigError(
            f"backend.model={source}: {path.name} is damaged: {why}; download or save the "
            "checkpoint again"
        ) from exc


def _load_error(source: str, exc: BaseException, trusted: bool) -> str:
    text = first_line(exc)
    if "trust_remote_code" in str(exc) and not trusted:
        return (f"backend.model={source}: the checkpoint runs its own code; if you trust it, "
                "add backend.trust_remote_code=true")  # fmt: skip
    if not Path(source).exists():
        return f"backend.model={source}: no such folder, and no such model on the hub here ({text})"
    if Path(source).is_dir() and not (Path(source) / "config.json").exists():
        return (
            f"backend.model={source}: the folder has no config.json (not a transformers checkpoint)"
        )
    return f"backend.model={source}: cannot load it as an image-text-to-text model ({text})"
