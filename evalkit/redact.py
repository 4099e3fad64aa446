"""Secrets never reach a file: keys refused on the command line, credentials masked in text.

evalkit takes a key only from the environment variable a backend names (``api_key_env``).
Everything it writes (``run.json``, ``.hydra/``, ``evalkit.log``, the cache, reports) goes
through :func:`redact_tree` or :func:`redact_text` first, which mask:

* the value of a key whose name looks like a secret (``api_key``, ``token``, ``password``,
  ``secret``, ``authorization``, ...; ``api_key_env``, the variable's *name*, is not one);
* the ``user:password@`` of a URL;
* the value after a command-line flag or an assignment named like a secret
  (``--api-key X``, ``--hf-token=X``, ``HF_TOKEN=X``) and after ``Bearer``;
* every value of an environment variable named like a secret, wherever it appears.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "LOG_FORMAT",
    "MASK",
    "RedactingFormatter",
    "is_secret_name",
    "redact_text",
    "redact_tree",
    "secret_values",
]

MASK = "***"

_SECRET_WORDS = ("apikey", "api_key", "token", "password", "passwd", "secret", "authorization",
                 "credential", "cookie", "bearer", "access_key", "private_key")  # fmt: skip
_NOT_SECRET = re.compile(r"(_env|tokens|_variable|_var)$")


def is_secret_name(name: str) -> bool:
    """Whether a key or flag named ``name`` would hold a secret.

    >>> [is_secret_name(n) for n in ("api_key", "X-Api-Key", "hf_token", "Authorization")]
    [True, True, True, True]
    >>> [is_secret_name(n) for n in ("api_key_env", "max_tokens", "tokens", "model")]
    [False, False, False, False]
    """
    normal = name.strip().lower().replace("-", "_").lstrip("_")
    if _NOT_SECRET.search(normal):
        return False
    return normal == "key" or any(word in normal for word in _SECRET_WORDS)


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@'\"]+@")
_FLAG = re.compile(
    r"(?P<flag>--?[A-Za-z0-9_-]+)(?P<sep>=|\s+)(?P<value>'[^']*'|\"[^\"]*\"|[^\s'\"]+)"
)
_ASSIGN = re.compile(
    r"(?P<name>\b[A-Za-z_][A-Za-z0-9_.-]*)(?P<sep>[\"']?\s*[=:]\s*)"
    r"(?P<value>'[^']*'|\"[^\"]*\"|(?:(?:Bearer|Basic|Token)\s+)?[^\s,'\"}]+)"
)
_BEARER = re.compile(r"(?P<word>\b(?:Bearer|Basic|Token)\s+)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    """The values of the environment variables named like secrets (6 characters or more)."""
    env = os.environ if environ is None else environ
    return sorted({v for k, v in env.items() if is_secret_name(k) and len(v) >= 6},
                  key=len, reverse=True)  # fmt: skip


def _secret_assignment(name: str) -> bool:
    """Whether ``name=value`` / ``name: value`` in text sets a secret.

    A bare ``key:`` in a sentence ("needs an API key: set ...") is English, not an assignment.
    """
    return name.lower() != "key" and is_secret_name(name)


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every credential it shows masked.

    >>> redact_text("https://me:pw@host.example/v1")
    'https://***@host.example/v1'
    >>> redact_text("vllm serve m --api-key sk-123 --port 8000")
    'vllm serve m --api-key *** --port 8000'
    >>> redact_text("HF_TOKEN=hf_abc python serve.py --token=abc")
    'HF_TOKEN=*** python serve.py --token=***'
    >>> redact_text("Authorization: Bearer sk-abcdef")
    'Authorization: ***'
    >>> redact_text("backend 'x' needs an API key: set the variable; tokens: 12")
    "backend 'x' needs an API key: set the variable; tokens: 12"
    """
    return _redact(text, _known(extra))


def _known(extra: Iterable[str]) -> list[str]:
    return [v for v in (*extra, *secret_values()) if v and len(v) >= 6]


def _redact(text: str, values: list[str]) -> str:
    if not text:
        return text
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    if "@" in text:
        text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    if "-" in text:
        text = _FLAG.sub(
            lambda m: f"{m['flag']}{m['sep']}{MASK}" if is_secret_name(m["flag"]) else m[0], text
        )
    if "=" in text or ":" in text:
        text = _ASSIGN.sub(
            lambda m: f"{m['name']}{m['sep']}{MASK}" if _secret_assignment(m["name"]) else m[0],
            text,
        )
    return _BEARER.sub(lambda m: f"{m['word']}{MASK}", text)


def redact_tree(data: Any, extra: Iterable[str] = ()) -> Any:
    """A copy of plain data (dicts, lists, text) with secrets masked (see :func:`redact_text`).

    >>> redact_tree({"base_url": "http://u:p@h/v1", "extra_body": {"api_key": "k"}, "n": 1})
    {'base_url': 'http://***@h/v1', 'extra_body': {'api_key': '***'}, 'n': 1}
    """
    return _walk(data, _known(extra))


def _walk(data: Any, values: list[str]) -> Any:
    if isinstance(data, dict):
        return {
            k: (MASK if isinstance(k, str) and is_secret_name(k) and v not in (None, "")
                else _walk(v, values))
            for k, v in data.items()
        }  # fmt: skip
    if isinstance(data, list | tuple):
        return type(data)(_walk(v, values) for v in data)
    if isinstance(data, str):
        return _redact(data, values)
    return data


LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
"""The lines of ``evalkit.log`` and of stderr."""


class RedactingFormatter(logging.Formatter):
    """Log lines with every credential masked, on screen and on disk (a run's, a shard's)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's line, secrets masked."""
        return redact_text(super().format(record))
