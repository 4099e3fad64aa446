"""Stage ③: :class:`~evalkit.records.Request` → :class:`~evalkit.records.Completion`."""

from evalkit.backends.base import Backend, BackendIdentity, RetryDecision
from evalkit.backends.registry import BACKENDS, build_backend

__all__ = ["BACKENDS", "Backend", "BackendIdentity", "RetryDecision", "build_backend"]
