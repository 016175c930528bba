"""Add up what every test step of `.ci/run` reported, for the run's last line.

    python .ci/tally.py DIR

DIR holds one file per step: `*.xml` (pytest's JUnit report), `*.json` (schemathesis's JSON
report) and `*.status` (the step's name and exit status, written by `.ci/run`). A step that
failed without reporting a failed test (lint, an install, a crash before the report) counts as
one failure, so the total never reads "0 failed" for a run that failed.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path


def pytest_counts(report: Path) -> tuple[int, int]:
    suites = ElementTree.parse(report).getroot()
    passed = failed = 0
    for suite in suites.iter("testsuite"):
        tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        passed += tests - skipped - bad
        failed += bad
    return passed, failed


def schemathesis_counts(report: Path) -> tuple[int, int]:
    cases = json.loads(report.read_text())["test_cases"]
    failed = cases["with_failures"] + cases["errored"]
    return cases["generated"] - failed, failed


def main(folder: Path) -> int:
    passed = failed = 0
    reported: dict[str, int] = {}  # step -> failures its report shows
    for report in sorted(folder.glob("*.xml")):
        p, f = pytest_counts(report)
        passed, failed, reported[report.stem] = passed + p, failed + f, f
    for report in sorted(folder.glob("*.json")):
        p, f = schemathesis_counts(report)
        passed, failed, reported[report.stem] = passed + p, failed + f, f
    for status in sorted(folder.glob("*.status")):
        code = int(status.read_text().split()[-1])
        if code != 0 and not reported.get(status.stem):
            print(f"ci: step {status.stem!r} failed (exit status {code})")
            failed += 1
    print(f"ci: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
