"""A key never reaches a file of a run, the cache, a log or a report, however it was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.testing.fake_server import FakeVLMServer

from .conftest import main_here

MARKER = "sk-MARKER7c1e9d"


def _files(*roots: Path) -> list[Path]:
    return [p for root in roots for p in ([root] if root.is_file() else root.rglob("*"))
            if p.is_file()]  # fmt: skip


def _assert_nowhere(*roots: Path) -> None:
    files = _files(*roots)
    assert files
    leaked = [p for p in files if MARKER.encode() in p.read_bytes()]
    assert not leaked, leaked


@pytest.mark.parametrize(
    "override",
    [
        f"+backend.api_key={MARKER}",
        f"+backend.token={MARKER}",
        f"backend.extra_body.authorization=Bearer-{MARKER}",
        f"+backend.extra_body.password={MARKER}",
        f"+secret={MARKER}",
    ],
)
def test_a_secret_typed_as_an_override_is_refused_unread(
    cli, tmp_path: Path, override: str
) -> None:
    proc = cli("task=docvqa", "backend=openai", "backend.model=m",
               "backend.base_url=http://127.0.0.1:1/v1", override)  # fmt: skip
    assert proc.returncode == 2
    assert "names a secret" in proc.stderr and MARKER not in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()


def test_a_key_given_every_other_way_reaches_no_file(
    cli, tmp_path: Path, server: FakeVLMServer
) -> None:
    server.answer = "1"
    cache = tmp_path / "cache.sqlite"
    url = server.openai_url.replace("http://", f"http://user:{MARKER}@")
    common = ["task=docvqa", "backend=openai", "backend.model=m", "dataset.limit=4",
              f"cache.path={cache}"]  # fmt: skip
    env = {"EVALKIT_TEST_KEY": MARKER, "MY_SERVICE_TOKEN": MARKER}
    # credentials in the URL, a header in extra_body, and a secret variable in the environment
    first = cli(*common, f"backend.base_url={url}", "backend.api_key_env=null",
                f"+backend.extra_body.headers={{Authorization: 'Bearer {MARKER}'}}", env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert any(r.headers.get("Authorization", "").startswith("Basic ") for r in server.received)
    # the key in the variable the backend names; it went out as it should
    second = cli(*common, f"backend.base_url={server.openai_url}", "cache=off",
                 "backend.api_key_env=EVALKIT_TEST_KEY", env=env)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert any(r.headers.get("Authorization") == f"Bearer {MARKER}" for r in server.received)
    both = cli(*common, f"backend.base_url={url}", "backend.api_key_env=EVALKIT_TEST_KEY", env=env)
    assert both.returncode == 2 and "carries a user:password@" in both.stderr
    assert MARKER not in both.stderr
    runs = [tmp_path / p.stdout.strip().splitlines()[-1].removeprefix("results: ")
            for p in (first, second)]  # fmt: skip
    for args in (["report", str(runs[0])], ["report", str(runs[0]), str(runs[1])],
                 ["compare", str(runs[0]), str(runs[1]), "--json", str(tmp_path / "c.json"),
                  "--markdown", str(tmp_path / "c.md")],
                 ["rescore", str(runs[0])]):  # fmt: skip
        done = main_here(*args, cwd=tmp_path, env=env)  # the runs above were new processes
        assert done.returncode == 0, done.stderr
        assert MARKER not in done.stdout + done.stderr
    assert MARKER not in first.stdout + first.stderr
    _assert_nowhere(tmp_path / "results", cache, tmp_path / "c.json", tmp_path / "c.md")
