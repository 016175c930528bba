"""The SQLite database file holds every campaign, patients' numbers included: only the user
Textcast runs as may read it.

SQLite creates a missing file with mode 0644 less the umask (so 0644 under the usual 022, which
any local user can read), and gives its -wal, -shm and -journal files the database file's mode.
So the file is created here first, empty (SQLite takes an empty file for an empty database),
with mode 0600 whatever the umask; and a file left readable by others (made before this was
so) is narrowed to its owner, with its side files, when Textcast opens it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

OWNER_ONLY = 0o600
SIDE_FILES = ("-wal", "-shm", "-journal")


def make_private(database: str | None) -> None:
    """Create the SQLite file at `database` (a path) as 0600, or narrow an existing one's mode
    (and its side files') to its owner. In-memory and `file:` URI databases are left alone."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        # The mode given to open() is narrowed by the umask, never widened: 0600 stays 0600.
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, OWNER_ONLY)
    except FileExistsError:
        _narrow(path)
    except OSError:
        return  # no such folder, or not writable: SQLite says so when it opens it
    else:
        os.close(descriptor)


def _narrow(path: Path) -> None:
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SIDE_FILES)):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                os.chmod(file, mode & 0o700)
                log.warning("%s was readable by other users: it is now its owner's only", file)
        except FileNotFoundError:
            continue
        except OSError as error:  # another user's file: say so, and let SQLite open it as it is
            log.warning("%s is readable by other users and could not be changed: %s", file, error)
