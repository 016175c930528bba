"""Add up what every step of `.ci/run` reported, for the run's last lines.

    python .ci/tally.py DIR

DIR holds one file per step: `*.xml` (pytest's JUnit report), `*.json` (schemathesis's JSON
report) and `*.status` (the step's name and exit status, written by `.ci/run`).

The totals count tests: each pytest test, and one for each other step (lint, the demo, the API
contract), passed when the step exited 0. A step that failed without reporting a failed test
(a crash before the report) counts as one failure, so the total never reads "0 failed" for a run
that failed. Schemathesis's generated cases are not tests of ours: they get a line of their own.
When anything failed, the failed tests are named (with their step) just before the totals line,
which is always the last one: `ci: N passed, M failed`.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

# More failed tests than this are summed up in one line: pytest's own summary names them all.
MOST_NAMED = 40


@dataclass
class Tally:
    passed: int = 0
    failed: list[str] = field(default_factory=list)  # "step: what failed", in order
    lines: list[str] = field(default_factory=list)  # lines of their own before the failures


def nodeid(classname: str, name: str) -> str:
    """The pytest node id of a JUnit test case: `tests.bot.test_x.TestY` + `test_z` is
    `tests/bot/test_x.py::TestY::test_z` (pytest's classes start with "Test"; its modules do
    not, being files named test_*.py). A module that failed to import has no classname."""
    if not classname:
        return name
    parts = classname.split(".")
    classes = next((i for i, part in enumerate(parts) if part.startswith("Test")), len(parts))
    path = "/".join(parts[:classes]) + ".py"
    return "::".join([path, *parts[classes:], name])


def pytest_results(report: Path) -> tuple[int, list[str]]:
    """How many tests passed, and the node ids of those that failed or errored (skipped ones
    are neither)."""
    passed, failed = 0, []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        outcomes = {child.tag for child in case}
        test = nodeid(case.get("classname", ""), case.get("name", ""))
        if outcomes & {"failure", "error"}:
            failed.append(test)
        elif "skipped" not in outcomes:
            passed += 1
    return passed, failed


def contract_cases(report: Path) -> tuple[int, int]:
    """Schemathesis's generated cases, and how many of them failed or errored."""
    cases = json.loads(report.read_text())["test_cases"]
    return cases["generated"], cases["with_failures"] + cases["errored"]


def tally(folder: Path) -> Tally:
    result = Tally()
    for status_file in sorted(folder.glob("*.status")):
        step = status_file.stem
        code = int(status_file.read_text().split()[-1])
        junit, contract = folder / f"{step}.xml", folder / f"{step}.json"
        failed: list[str] = []
        if junit.exists():
            passed, failed = pytest_results(junit)
            result.passed += passed
            result.failed += [f"{step}: {test}" for test in failed]
        elif code == 0:
            result.passed += 1  # a step that is one test: lint, the demo, the API contract
        if contract.exists():
            generated, bad = contract_cases(contract)
            result.lines.append(f"ci: API contract: {generated:,} generated cases, {bad:,} failed")
        if code != 0 and not failed:
            result.failed.append(f"{step}: the step failed (exit status {code})")
    return result


def main(folder: Path) -> int:
    result = tally(folder)
    for line in result.lines:
        print(line)
    if result.failed:
        print(f"ci: failed ({len(result.failed)}):")
        for failure in result.failed[:MOST_NAMED]:
            print(f"ci:   {failure}")
        if len(result.failed) > MOST_NAMED:
            print(f"ci:   ...and {len(result.failed) - MOST_NAMED} more (see each step's output)")
    print(f"ci: {result.passed} passed, {len(result.failed)} failed")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
