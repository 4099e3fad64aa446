"""Model families: everything evalkit knows about how one family of models reads and writes.

One module per family, each with its box convention (read and write), its image resize and
image-token rules, and its chat end markers:

* :mod:`~evalkit.families.generic` (``default`` prompts; ``normalized`` and ``pixel`` boxes),
* :mod:`~evalkit.families.qwen_vl` (Qwen-VL and Qwen-VL-Chat: the 0–1000 ``<box>`` grid, 256
  image tokens),
* :mod:`~evalkit.families.qwen2_vl` (Qwen2-VL: ``<|box_start|>`` grid, ``smart_resize``, one
  token per 28×28 pixels; DashScope's qwen-vl-plus/max bill by the same rule),
* :mod:`~evalkit.families.qwen25_vl` (Qwen2.5-VL: JSON ``bbox_2d`` in pixels of the resized input).

Prompt, parse, cost and baseline code ask this package; it imports only ``records`` and
``errors``, so every stage may use it.
"""

from __future__ import annotations

from evalkit.errors import ConfigError, did_you_mean
from evalkit.families.base import BoxFormat, ModelFamily
from evalkit.families.generic import GENERIC, NORMALIZED, PIXEL
from evalkit.families.qwen2_vl import QWEN2_BOX, QWEN2_VL, qwen2_vl_box
from evalkit.families.qwen25_vl import QWEN25_BOX, QWEN25_VL
from evalkit.families.qwen_vl import QWEN_VL, QWEN_VL_CHAT, qwen_vl_box
from evalkit.registry import Registry

__all__ = [
    "BOX_FORMATS",
    "FAMILIES",
    "BoxFormat",
    "ModelFamily",
    "box_format",
    "family_for_model",
    "family_named",
]

FAMILIES: Registry[ModelFamily] = Registry(
    "model family", {f.name: f for f in (GENERIC, QWEN_VL, QWEN_VL_CHAT, QWEN2_VL, QWEN25_VL)}
)
"""Family name (the ``backend.prompt_family`` value) → family (plugins may add more)."""

_BOXES: dict[str, BoxFormat] = {
    b.name: b
    for b in (
        qwen_vl_box(999),
        qwen_vl_box(999, lenient=True),
        QWEN2_BOX,
        QWEN25_BOX,
        NORMALIZED,
        PIXEL,
    )  # fmt: skip
}

BOX_FORMATS = tuple(_BOXES)
"""Known box conventions; ``qwen-vl`` (and ``qwen-vl-lenient``) also take a divisor suffix,
e.g. ``qwen-vl:1000``."""


def box_format(name: str) -> BoxFormat:
    """The box convention called ``name`` (``qwen-vl``, ``qwen-vl:1000``, ``qwen2.5-vl``, ...).

    >>> box_format("qwen-vl").write((0, 0, 640, 480), 640, 480)
    '<box>(0,0),(999,999)</box>'
    """
    base, _, divisor = name.partition(":")
    if base in ("qwen-vl", "qwen-vl-lenient") and divisor:
        try:
            return qwen_vl_box(float(divisor), lenient=base == "qwen-vl-lenient")
        except ValueError:
            pass
    elif base == "qwen2-vl" and divisor:
        try:
            return qwen2_vl_box(float(divisor))
        except ValueError:
            pass
    elif not divisor and name in _BOXES:
        return _BOXES[name]
    raise ConfigError(did_you_mean("box format", name, BOX_FORMATS))


def family_named(name: str) -> ModelFamily:
    """The family of a prompt-family name; names no family claims get the generic family.

    Tasks may define prompts for names evalkit has no family module for (a new model's chat
    prompt); such a name reads and writes like the generic family.

    >>> family_named("qwen2.5-vl").box_format, family_named("my-model").name
    ('qwen2.5-vl', 'default')
    """
    return FAMILIES.get(name) or GENERIC


def family_for_model(model: str) -> ModelFamily:
    """The family whose model names ``model`` starts with (longest match), else the Qwen2-VL rule.

    The fallback is the rule DashScope documents for qwen-vl-plus/max and every Qwen2/2.5-VL
    model, the usual case for an unknown model name.

    >>> family_for_model("qwen-vl-chat-v1").name, family_for_model("qwen-vl-plus-latest").name
    ('qwen-vl-chat', 'qwen2-vl')
    """
    best: tuple[int, ModelFamily] | None = None
    lowered = model.lower()
    for _, family in FAMILIES.items():
        for prefix in family.model_prefixes:
            if lowered.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), family)
    return best[1] if best is not None else QWEN2_VL
