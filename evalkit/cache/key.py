"""The cache key: an explicit, documented list of what changes a model's answer.

Included (each has a test that changing it changes the key):

* backend identity: kind, model, base URL, revision;
* the output-affecting generation parameters: max_tokens, temperature, top_p, top_k, seed, stop,
  repetition_penalty, and min_tokens when set (absent from the key when unset, so keys made
  before it existed stay valid);
* the backend's output-affecting options (``Backend.cache_options``: per-image min/max pixels,
  ``extra_body`` such as ``vl_high_resolution_images``);
* the rendered messages: roles, texts, and the SHA-256 of each image's bytes (not its path);
  for an image given as an http(s) URL, the URL (what is behind it is the server's to fetch).

Excluded on purpose (each has a test that changing it keeps the key): concurrency, rate limits,
timeouts, retries, streaming, and the API-key variable, which change how an answer is fetched,
not what it is; and the sample id, so the same request in two datasets is one entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from evalkit.backends.base import BackendIdentity
from evalkit.records import ImagePart, ImageRef, Request

__all__ = ["KEY_VERSION", "cache_key", "key_components"]

KEY_VERSION = 1
"""Bumped whenever the key's recipe changes, so old entries are never misread."""


def _image_key(image: ImageRef) -> dict[str, str]:
    return {"image_url": image.url} if image.url is not None else {"image_sha256": image.sha256}


def key_components(
    identity: BackendIdentity, request: Request, options: Mapping[str, Any]
) -> dict[str, Any]:
    """The named components hashed into the key (exposed for tests and debugging)."""
    p = request.params
    params: dict[str, Any] = {
        "max_tokens": p.max_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "top_k": p.top_k,
        "seed": p.seed,
        "stop": list(p.stop),
        "repetition_penalty": p.repetition_penalty,
    }
    if p.min_tokens is not None:
        params["min_tokens"] = p.min_tokens
    return {
        "version": KEY_VERSION,
        "backend": {
            "name": identity.name,
            "model": identity.model,
            "base_url": identity.base_url,
            "revision": identity.revision,
        },
        "params": params,
        "options": dict(options),
        "messages": [
            {
                "role": m.role,
                "parts": [
                    _image_key(part.image) if isinstance(part, ImagePart) else {"text": part.text}
                    for part in m.parts
                ],
            }
            for m in request.messages
        ],
    }


def cache_key(identity: BackendIdentity, request: Request, options: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of :func:`key_components`."""
    canonical = json.dumps(
        key_components(identity, request, options),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
