"""The suite's own Redis hygiene (tests/redis_namespaces.py), on small runs of pytest of its own."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from redis import Redis

from tests.redis_namespaces import redis_url

ROOT = Path(__file__).resolve().parents[1]
CONFTEST = "from tests.redis_namespaces import redis_left_clean, redis_namespaces_forgotten\n"
HEADER = """from redis import Redis
from tests.redis_namespaces import RUN, new_namespace, redis_url

redis = Redis.from_url(redis_url())
"""


def run_pytest(folder: Path, tests: str) -> tuple[int, str]:
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_inner.py").write_text(HEADER + tests)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=folder, env={"PYTHONPATH": str(ROOT), "REDIS_URL": redis_url()},
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout


def test_each_tests_namespaces_are_removed_and_a_key_left_fails_the_run(tmp_path: Path) -> None:
    code, out = run_pytest(
        tmp_path,
        """
taken = []

def test_writes():
    taken.append(new_namespace())
    redis.set(f"{taken[0]}:queue", 1)
    redis.set(f"arq:job:{taken[0]}:start:smsc_x:v1", 1)  # arq's, beside the namespace

def test_the_last_test_left_nothing():
    assert not list(redis.scan_iter(match=f"*{taken[0]}:*"))

def test_leaks():
    # Under the run's prefix, not a namespace a test took: nothing removes it after the test.
    redis.set(f"test-{RUN}-leaked:queue", 1)
""",
    )
    assert code == 1, out
    assert "3 passed, 1 error" in out  # the error: the session's end, at the last test
    found = re.search(r"Failed: the run left 1 key\(s\) in Redis \(REDIS_URL\): (\S+)", out)
    assert found, out
    leaked = found[1]
    assert leaked.endswith("-leaked:queue")
    with Redis.from_url(redis_url()) as redis:
        assert not redis.exists(leaked)  # removed, too
