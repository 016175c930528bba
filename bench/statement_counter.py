"""Run a Textcast process and count the SQL statements it sends to its database.

    python bench/statement_counter.py COUNTS.json -m worker [ARGS…]

Every statement SQLAlchemy hands to the driver is counted by its first words; an executemany
counts once per row, since the server runs it once per row (asyncpg executes a prepared
statement per parameter set). Commits are counted as `COMMIT`: a transaction each. The counts are written as JSON when the process exits (a SIGTERM
stops the worker cleanly, through arq), and every `--every` seconds while it runs, so a
benchmark can read them at any moment.
"""

from __future__ import annotations

import atexit
import json
import re
import runpy
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

EVERY_SECONDS = 0.5
_counts: Counter[str] = Counter()
_lock = threading.Lock()


def kind(statement: str) -> str:
    """`UPDATE recipients`, `SELECT recipients`, …: the verb and the first table it names."""
    words = statement.split(None, 1)
    verb = words[0].upper() if words else "?"
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", statement, re.IGNORECASE)
    return f"{verb} {table[1]}" if table else verb


def count(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    rows = len(parameters) if executemany and parameters is not None else 1
    with _lock:
        _counts[kind(statement)] += rows


def committed(conn: Any) -> None:
    with _lock:
        _counts["COMMIT"] += 1


def count_this_process() -> None:
    """Count from now on, in this process (a benchmark that runs the web app in-process)."""
    event.listen(Engine, "before_cursor_execute", count)
    event.listen(Engine, "commit", committed)


def snapshot() -> Counter[str]:
    with _lock:
        return Counter(_counts)


def write(path: Path) -> None:
    with _lock:
        snapshot = dict(_counts)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(snapshot))
    partial.replace(path)  # a reader never sees half a file


def keep_writing(path: Path) -> None:
    stop = threading.Event()
    while not stop.wait(EVERY_SECONDS):
        write(path)


def main() -> None:
    out = Path(sys.argv[1])
    if sys.argv[2] != "-m":
        raise SystemExit(__doc__)
    module = sys.argv[3]
    count_this_process()
    atexit.register(write, out)
    threading.Thread(target=keep_writing, args=(out,), daemon=True).start()
    sys.argv = [module, *sys.argv[4:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
