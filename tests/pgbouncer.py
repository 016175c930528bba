"""A PgBouncer in transaction mode in front of a PostgreSQL database, for tests and benchmarks.

Debian's `pgbouncer` package (.ci/run installs it); `PGBOUNCER` is None where it is missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.ports import free_port

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)


@dataclass
class Pooler:
    url: str  # DATABASE_URL through it
    process: asyncio.subprocess.Process
    drain: asyncio.Task[bytes]  # reads its output, so that its pipe never fills
    folder: Path

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        await self.process.wait()
        await self.drain
        shutil.rmtree(self.folder, ignore_errors=True)


def _config(database_url: str, port: int, server_connections: int) -> Path:
    """Its configuration, in a folder of its own, readable by the user it runs as: PgBouncer
    will not run as root (it is told `-u nobody`)."""
    url = make_url(database_url)
    folder = Path(tempfile.mkdtemp(prefix="textcast-pgbouncer-"))
    folder.chmod(0o755)
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"{url.database} = host={url.host or '127.0.0.1'} port={url.port or 5432} "
        f"dbname={url.database} user={url.username or 'postgres'}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        f"default_pool_size = {server_connections}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 200\n"
    )
    config.chmod(0o644)
    return config


async def start_pgbouncer(database_url: str, server_connections: int) -> Pooler:
    port = free_port()
    config = _config(database_url, port, server_connections)
    as_user = ["-u", "nobody"] if os.geteuid() == 0 else []
    process = await asyncio.create_subprocess_exec(
        PGBOUNCER or "pgbouncer", *as_user, str(config), stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    async with asyncio.timeout(30):
        while b"process up" not in (line := await process.stderr.readline()):
            assert line, "pgbouncer exited at start"
    pooled = (
        make_url(database_url)
        .set(host="127.0.0.1", port=port)
        .render_as_string(hide_password=False)
    )
    return Pooler(pooled, process, asyncio.create_task(process.stderr.read()), config.parent)
