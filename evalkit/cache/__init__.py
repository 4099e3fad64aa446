"""Stage ④: the response cache, keyed by a fingerprint of the request."""

from evalkit.cache.key import KEY_VERSION, cache_key, key_components
from evalkit.cache.store import ResponseCache, cache_path, default_cache_path

__all__ = [
    "KEY_VERSION",
    "ResponseCache",
    "cache_key",
    "cache_path",
    "default_cache_path",
    "key_components",
]
