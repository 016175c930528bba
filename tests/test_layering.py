"""The arrows of DESIGN.md: production code never imports sandbox, the domain no vendor code."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ("slack_sdk", "slack_bolt", "twilio", "arq", "aiohttp", "redis", "matplotlib")


def imports(path: Path, *, top_level_only: bool) -> Iterator[str]:
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["campaigns", "bot", "charts", "worker"])
def test_production_code_never_imports_the_sandbox(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources(package)
        for name in imports(path, top_level_only=False)
        if name == "sandbox" or name.startswith("sandbox.")
    ]
    assert offenders == []


def test_the_domain_imports_no_slack_twilio_arq_aiohttp_redis_or_plotting() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources("campaigns")
        for name in imports(path, top_level_only=False)
        if name.split(".")[0] in VENDOR
    ]
    assert offenders == []
    assert sources("campaigns"), "the walk found no files: the test would prove nothing"


def test_the_domain_never_imports_the_processes_above_it() -> None:
    """The command line (`textcast/`) knows the web process, the worker and the sandbox; the
    domain knows none of them, not even inside a function."""
    above = ("bot", "charts", "worker", "sandbox", "textcast")
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources("campaigns")
        for name in imports(path, top_level_only=False)
        if name.split(".")[0] in above
    ]
    assert offenders == []
