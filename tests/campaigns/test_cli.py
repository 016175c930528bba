"""`textcast recipients check`: the JSON report and its exit statuses, run as a user would."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from textcast.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def run_check(path: Path | str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DEFAULT_REGION"} | settings
    return subprocess.run(
        [sys.executable, "-m", "textcast.cli", "recipients", "check", str(path), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False,
    )  # fmt: skip


def check(path: Path | str, *args: str, **settings: str) -> tuple[int, dict]:
    result = run_check(path, *args, **settings)
    return result.returncode, json.loads(result.stdout)


def test_the_shipped_sample_is_reported() -> None:
    status, report = check(ROOT / "examples" / "recipients.csv", "--region", "GB")
    assert status == 0
    assert report["valid"] >= 5
    assert report["duplicates"] >= 1
    assert report["invalid"] and {"row", "value", "reason"} <= set(report["invalid"][0])
    assert report["phone_column"] == "Mobile Phone"
    assert "first_name" in report["variables"]
    assert report["sample"][0]["phone"].startswith("+447700")
    assert set(report["sample"][0]["variables"]) >= {"first_name", "appointment"}


def test_nothing_valid_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("phone\n12\nhello\n")
    status, report = check(path, "--region", "GB")
    assert status == 1
    assert report["valid"] == 0
    assert [row["row"] for row in report["invalid"]] == [2, 3]


def test_national_numbers_need_a_region(tmp_path: Path) -> None:
    path = tmp_path / "national.csv"
    path.write_text("phone\n07700 900123\n")
    status, report = check(path)
    assert status == 1
    assert "country code" in report["invalid"][0]["reason"]
    status, report = check(path, "--region", "GB")
    assert status == 0 and report["sample"][0]["phone"] == "+447700900123"


def test_unreadable_files_exit_2(tmp_path: Path) -> None:
    binary = tmp_path / "book.xlsx"
    binary.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    status, report = check(binary)
    assert status == 2
    assert "CSV" in report["error"]
    status, report = check(tmp_path / "missing.csv")
    assert status == 2
    assert "cannot read" in report["error"]


def test_only_the_settings_it_uses_are_read(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone\n07700 900123\n+14155550123\n")
    unrelated = {
        "PORT": "web",
        "SEND_HOURS": "all day",
        "DATABASE_URL": "mysql://db/x",
        "REDIS_URL": "localhost",
        "FREQUENCY_CAP": "often",
        "SLACK_ENTERPRISE_ID": "T1",
    }
    status, report = check(path, **unrelated, DEFAULT_REGION="GB", SENDER_NUMBERS="+447700900001")
    assert status == 0, report
    # ALLOWED_COUNTRIES defaults to the senders' countries and DEFAULT_REGION's: GB only.
    assert report["valid"] == 1 and "+1415" in report["invalid"][0]["value"]
    # A setting it does use still stops it, with the one line that names it.
    result = run_check(path, **unrelated, ALLOWED_COUNTRIES="UK")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("textcast: ALLOWED_COUNTRIES is malformed: 'UK'")


def _commands(parser: argparse.ArgumentParser, prefix: str = "textcast") -> set[str]:
    """Every runnable command line, `textcast db upgrade` and the like."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _commands(sub, f"{prefix} {name}") or {f"{prefix} {name}"}
    return found


def test_the_readme_lists_every_command() -> None:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Commands\n")
    table = text[start : text.index("\n#", start + 12)]
    listed = set(re.findall(r"`(textcast [a-z]+(?: [a-z]+)?)", table))
    assert listed == _commands(build_parser())
