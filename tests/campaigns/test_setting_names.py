"""A mistyped setting stops start-up with "did you mean", and nothing else in the environment
does: `textcast db upgrade` run as a user runs it, with an .env file or variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Variables found in shells, CI, this suite, containers, systemd units and Kubernetes pods, some
# of them close to a setting's name: none is Textcast's, and none may stop it.
UNRELATED = {
    "HOME": "/root", "HOSTNAME": "web-1", "LANG": "C.UTF-8", "TZ": "UTC", "CI": "true",
    "POSTGRES_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/test", "UPDATE_SNAPSHOTS": "1",
    "PYTEST_CURRENT_TEST": "tests/x.py::test (call)", "PYTEST_XDIST_WORKER": "gw0",
    "PYTHONUNBUFFERED": "1", "PYTHON_VERSION": "3.11.7", "VIRTUAL_ENV": "/opt/textcast",
    "PGHOST": "db", "PGPORT": "5432", "REDIS_HOST": "cache", "REDIS_PORT": "6379",
    "REDIS_PASSWORD": "x", "SLACK_WEBHOOK_URL": "https://hooks.example.com/x",
    "SLACK_CLIENT_ID": "1.2", "TWILIO_REGION": "ie1", "TWILIO_EDGE": "dublin",
    "TEXTCAST_PORT": "tcp://10.0.0.3:3000", "TEXTCAST_SERVICE_HOST": "10.0.0.3",
    "INVOCATION_ID": "abc", "JOURNAL_STREAM": "8:1", "STATE_DIRECTORY": "/var/lib/textcast",
    "http_proxy": "", "no_proxy": "localhost", "MPLCONFIGDIR": "/tmp/mpl",
    "POSTGRES_PASSWORD": "compose's",
}  # fmt: skip


def upgrade(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`textcast db upgrade` in `folder` (where an .env file may be) with only `env` set."""
    return subprocess.run(
        [sys.executable, "-m", "textcast.cli", "db", "upgrade"],
        env={"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/t.db",
             **env},
        capture_output=True, text=True, cwd=folder, check=False, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "meant"),
    [("MONTHLY_BUDGT", "MONTHLY_BUDGET"), ("SEND_HOUR", "SEND_HOURS"),
     ("TWILIO_AUTHTOKEN", "TWILIO_AUTH_TOKEN"), ("monthly_budget", "MONTHLY_BUDGET")],
)  # fmt: skip
def test_a_mistyped_setting_in_the_environment_stops_start_up(
    tmp_path: Path, name: str, meant: str
) -> None:
    result = upgrade(tmp_path, **{name: "50"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"textcast: {name} is not a setting: did you mean {meant}? (it is in the environment)"
    ]
    assert not (tmp_path / "t.db").exists()


def test_any_name_in_dot_env_that_is_not_a_setting_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SENDER_NUMBERS=+14155550100\nMONTHLY_BUDGT=50\n")
    result = upgrade(tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "textcast: MONTHLY_BUDGT in .env is not a setting: did you mean MONTHLY_BUDGET?"
    ]
    (tmp_path / ".env").write_text("export WEBHOOK_SECRET='hunter2'\n")
    result = upgrade(tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "textcast: WEBHOOK_SECRET in .env is not a setting: the README's Configuration table "
        "lists every setting"
    ]


def test_other_programs_variables_and_compose_s_own_never_stop_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "POSTGRES_PASSWORD=s3cret\nCOMPOSE_PROJECT_NAME=textcast\nMONTHLY_BUDGET=50\n"
    )
    result = upgrade(tmp_path, **UNRELATED)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
