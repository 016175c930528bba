"""`.ci/tally.py`, the last lines of a CI run, on small reports written here as the steps would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TALLY = Path(__file__).resolve().parents[1] / ".ci" / "tally.py"


def junit(folder: Path, step: str, cases: list[tuple[str, str, str | None]]) -> None:
    """A pytest JUnit report: (classname, name, None or "failure"/"error"/"skipped")."""
    lines = []
    for classname, name, outcome in cases:
        inside = f'<{outcome} message="boom">trace</{outcome}>' if outcome else ""
        lines.append(
            f'<testcase classname="{classname}" name="{name}" time="0.1">{inside}</testcase>'
        )
    failures = sum(outcome == "failure" for *_, outcome in cases)
    errors = sum(outcome == "error" for *_, outcome in cases)
    skipped = sum(outcome == "skipped" for *_, outcome in cases)
    (folder / f"{step}.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
        f'errors="{errors}" failures="{failures}" skipped="{skipped}" tests="{len(cases)}">'
        + "".join(lines)
        + "</testsuite></testsuites>"
    )


def contract(folder: Path, generated: int, with_failures: int = 0) -> None:
    """Schemathesis's JSON report, as much of it as the tally reads."""
    cases = {"generated": generated, "found": generated, "skipped": 0,
             "with_failures": with_failures, "errored": 0}  # fmt: skip
    (folder / "schemathesis.json").write_text(json.dumps({"test_cases": cases}))


def status(folder: Path, step: str, code: int = 0) -> None:
    (folder / f"{step}.status").write_text(f"{step} {code}\n")


def tally(folder: Path) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, str(TALLY), str(folder)], capture_output=True, text=True, check=False
    )
    return done.returncode, done.stdout.splitlines()


def a_green_run(folder: Path) -> None:
    for step in ("lint-check", "lint-format", "sqlite", "postgresql", "demo", "schemathesis"):
        status(folder, step)
    passing = [("tests.bot.test_api", "test_one", None), ("tests.bot.test_api", "test_two", None)]
    junit(folder, "sqlite", [*passing, ("tests.bot.test_api", "test_skipped", "skipped")])
    junit(folder, "postgresql", passing)
    contract(folder, 3727)


def test_the_totals_count_tests_and_the_generated_cases_have_a_line_of_their_own(
    tmp_path: Path,
) -> None:
    a_green_run(tmp_path)
    code, lines = tally(tmp_path)
    # 2 + 2 pytest tests (the skipped one is neither), and one for each other step.
    assert lines == ["ci: API contract: 3,727 generated cases, 0 failed", "ci: 8 passed, 0 failed"]
    assert code == 0


def test_failed_tests_are_named_with_their_step_before_the_totals(tmp_path: Path) -> None:
    a_green_run(tmp_path)
    junit(tmp_path, "sqlite", [
        ("tests.bot.test_api", "test_one", None),
        ("tests.worker.test_lanes", "test_fair[2-senders]", "failure"),
        ("tests.campaigns.test_db.TestCopies", "test_copy", "error"),
        ("", "tests.worker.test_broken", "error"),  # a module that failed to import
    ])  # fmt: skip
    status(tmp_path, "sqlite", 1)
    status(tmp_path, "demo", 1)
    contract(tmp_path, 120, with_failures=2)
    status(tmp_path, "schemathesis", 1)
    code, lines = tally(tmp_path)
    assert lines == [
        "ci: API contract: 120 generated cases, 2 failed",
        "ci: failed (5):",
        "ci:   demo: the step failed (exit status 1)",
        "ci:   schemathesis: the step failed (exit status 1)",
        "ci:   sqlite: tests/worker/test_lanes.py::test_fair[2-senders]",
        "ci:   sqlite: tests/campaigns/test_db.py::TestCopies::test_copy",
        "ci:   sqlite: tests.worker.test_broken",
        "ci: 5 passed, 5 failed",  # 1 + 2 pytest tests, both lint steps
    ]
    assert code == 1


def test_a_step_that_failed_without_a_report_is_one_failure(tmp_path: Path) -> None:
    a_green_run(tmp_path)
    (tmp_path / "postgresql.xml").unlink()  # pytest never got as far as its report
    status(tmp_path, "postgresql", 4)
    code, lines = tally(tmp_path)
    assert lines[-2:] == [
        "ci:   postgresql: the step failed (exit status 4)",
        "ci: 6 passed, 1 failed",
    ]
    assert code == 1
