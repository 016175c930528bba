"""`textcast recipients check`: the JSON report and its exit statuses, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(path: Path | str, *args: str) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if k != "DEFAULT_REGION"}
    result = subprocess.run(
        [sys.executable, "-m", "textcast.cli", "recipients", "check", str(path), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
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
