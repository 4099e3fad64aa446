"""The persistent response cache: SQLite in WAL mode, one row per successful completion.

Safe for several runs sharing one file at once (WAL, a busy timeout, short write transactions),
and crash-safe: each completion is committed the moment it arrives. Only successes are stored;
errors and refusals never are. Rows keep the usage, so a cached answer still reports its tokens.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from evalkit.errors import ConfigError
from evalkit.records import Completion, Usage

__all__ = ["ResponseCache", "cache_path", "default_cache_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key            TEXT PRIMARY KEY,
    model          TEXT NOT NULL,
    text           TEXT NOT NULL,
    finish_reason  TEXT,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    image_tokens   INTEGER,
    latency_s      REAL,
    created_at     REAL NOT NULL
)
"""


def cache_path(configured: str | None) -> Path:
    """The cache file a run uses: ``cache.path`` (``~`` expanded) or :func:`default_cache_path`."""
    return Path(configured).expanduser() if configured else default_cache_path()


def default_cache_path() -> Path:
    """``responses.sqlite`` in the user's cache folder (``~/.cache/evalkit`` on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("evalkit")) / "responses.sqlite"


class ResponseCache:
    """Get and put completions by key."""

    def __init__(self, path: Path, *, read_also: Path | None = None) -> None:
        """Open (or create) the cache at ``path``; a path that cannot hold one is a ConfigError.

        ``read_also``: a cache file asked when ``path`` has no answer, read-only and without
        locks (a snapshot another machine wrote: its writer checkpoints it first); skipped when
        this machine does not see it.
        """
        self.path = path
        self._also: sqlite3.Connection | None = None
        if read_also is not None and read_also.is_file():
            uri = f"file:{read_also}?mode=ro&immutable=1"
            self._also = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: every put is its own short transaction
            self._db = sqlite3.connect(
                path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=60000")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            blocking = next((p for p in path.parents if p.is_file()), None)
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if blocking is not None:
                why = f"{blocking} is a file, not a folder"
            raise ConfigError(
                f"cache.path {path}: cannot open the response cache ({why}); "
                "set cache.path=FILE or cache.mode=off"
            ) from exc

    def get(self, key: str) -> Completion | None:
        """The stored completion, or ``None``."""
        row = self._db.execute(
            "SELECT text, finish_reason, input_tokens, output_tokens, image_tokens, latency_s "
            "FROM responses WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None and self._also is not None:
            row = self._also.execute(
                "SELECT text, finish_reason, input_tokens, output_tokens, image_tokens, "
                "latency_s FROM responses WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        text, finish, tokens_in, tokens_out, tokens_img, latency = row
        return Completion(text, Usage(tokens_in, tokens_out, tokens_img), finish, latency or 0.0)

    def put(self, key: str, model: str, completion: Completion) -> None:
        """Store a successful completion (the last write for a key wins)."""
        usage = completion.usage
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, model, completion.text, completion.finish_reason, usage.input_tokens,
             usage.output_tokens, usage.image_tokens, completion.latency_s, time.time()),
        )  # fmt: skip

    def import_from(self, other: Path) -> int:
        """Add the answers of the cache file ``other`` that this one lacks; how many were added.

        A Ray shard on another machine keeps its own file (SQLite's WAL is not for network
        filesystems); the merge brings its answers home by key, so a rerun sends nothing.
        """
        before = len(self)
        self._db.execute("ATTACH DATABASE ? AS other", (str(other),))
        try:
            self._db.execute("INSERT OR IGNORE INTO responses SELECT * FROM other.responses")
        finally:
            self._db.execute("DETACH DATABASE other")
        return len(self) - before

    def __contains__(self, key: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone() is not None
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def checkpoint(self) -> None:
        """Move the write-ahead log into the file, so a reader without locks sees every answer."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
        if self._also is not None:
            self._also.close()
