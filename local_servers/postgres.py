"""A real PostgreSQL server for the tests and the benchmarks: Debian's ``postgresql`` package
(15), started on 127.0.0.1 in a scratch directory and stopped afterwards.

``make test`` installs the package when missing (``DEBIAN_TEST_PACKAGES`` in the Makefile). The
server binaries are found with ``pg_config --bindir``, else under ``/usr/lib/postgresql/*/bin``
(the newest version first). PostgreSQL refuses to run as root, so as root ``initdb`` and
``pg_ctl`` run as the ``postgres`` user (``runuser -u postgres --``) in a directory it owns;
otherwise they run as the current user.

One server per pytest process (per pytest-xdist worker), not one shared by the workers: workers
are separate processes with no common teardown, so a shared server would need a lock file, a
reference count and a rule for who stops it when a worker dies; a server per worker needs none of
that, costs about a second to start (``initdb`` included; the figure is printed by
``tests/integration/test_support_postgres.py``), and isolates workers completely.

A test server is set up for speed, not durability: ``fsync``, ``synchronous_commit`` and
``full_page_writes`` are off, so a crash of the machine can lose or corrupt its data, which is
thrown away anyway. ``start_server(durable=True)`` (the benchmarks) keeps PostgreSQL's durable
defaults instead (all three on: a commit returns once its WAL is flushed to disk), so that a
measured commit costs what it costs in production. It listens on 127.0.0.1 only (a free port probed
just before starting), its unix socket sits in the scratch directory, and its superuser logs in
with a random password (SCRAM-SHA-256), so other local users cannot use it.

Every scratch directory lives under :func:`scratch_root` and is named after the pytest process
that owns it (``pg-<pid>-<random>``). A run that was killed (SIGKILL, a crashed machine) cannot
stop its server; the next :func:`start_server` stops and removes the servers of every owner that
is no longer running (:func:`sweep_leftovers`), so leftovers neither pile up nor break a later
run. Servers of live owners (another worktree's test run) are left alone.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy import URL

from . import free_port

#: The superuser ``initdb`` creates; the tests connect as this role.
SUPERUSER = "trustmrv"
#: Seconds ``pg_ctl`` waits for the server to start or stop.
PG_CTL_TIMEOUT = 30


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing, or the server did not start; the message says which
    and carries the end of the server's log."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server: its scratch directory (``data/`` inside), binaries, port and superuser
    password. Connect with :meth:`url` (SQLAlchemy) or :meth:`conninfo` (psycopg)."""

    directory: Path
    bindir: Path
    port: int
    password: str

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def conninfo(self, dbname: str = "postgres") -> str:
        """psycopg connection string for ``dbname`` over TCP on 127.0.0.1."""
        return make_conninfo(
            host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password,
            dbname=dbname, connect_timeout=10)

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL of ``dbname``: ``postgresql+psycopg://trustmrv:…@127.0.0.1:PORT/DB``
        (password included)."""
        return URL.create("postgresql+psycopg", username=SUPERUSER, password=self.password,
                          host="127.0.0.1", port=self.port,
                          database=dbname).render_as_string(hide_password=False)

    def create_database(self, dbname: str) -> str:
        """Create an empty database (from ``template0``) and return its SQLAlchemy URL."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0")
                         .format(sql.Identifier(dbname)))
        return self.url(dbname)

    def reset_database(self, dbname: str) -> str:
        """Empty ``dbname`` and return its SQLAlchemy URL: close every other session on it
        (connections a test left open), drop every schema but PostgreSQL's own (tables, types,
        sequences, functions and extensions go with them) and create an empty ``public``.

        15 to 20 ms, against 70 to 110 ms to create a database (both printed by
        ``tests/integration/test_support_postgres.py``): the per-test reset of
        :func:`conftest.database_url`. Roles and databases are the cluster's, not the
        database's, and stay."""
        with psycopg.connect(self.conninfo(dbname), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            schemas = [row[0] for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname <> 'information_schema' "
                "AND nspname NOT LIKE 'pg\\_%'")]
            for schema in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute("CREATE SCHEMA public")
        return self.url(dbname)

    def drop_database(self, dbname: str) -> None:
        """Drop ``dbname``, closing whatever connections a test left open on it."""
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(dbname)))


def find_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: ``pg_config --bindir``
    when that directory has them, else the newest ``/usr/lib/postgresql/*/bin`` that does.
    Raises :class:`PostgresUnavailable` when none has them."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                check=False)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else -1,
                         reverse=True)
    for bindir in candidates:
        if all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found via pg_config or in "
        "/usr/lib/postgresql/*/bin: install Debian's postgresql (`make test` does, or "
        "`apt-get install postgresql`)")


def scratch_root() -> Path:
    """The directory holding every scratch directory of this user's test servers:
    ``<tmp>/trustmrv-postgres-<uid>``, created mode 0755 (the ``postgres`` user must reach its
    directories inside). Refuses one that is a symlink or another user's."""
    root = Path(tempfile.gettempdir()) / f"trustmrv-postgres-{os.getuid()}"
    root.mkdir(mode=0o755, exist_ok=True)
    info = root.lstat()
    if root.is_symlink() or info.st_uid != os.getuid():
        raise PostgresUnavailable(f"{root}: expected a directory owned by uid {os.getuid()}, "
                                  f"found {'a symlink' if root.is_symlink() else info.st_uid}")
    return root


def start_server(root: Path | None = None, owner: int | None = None, *,
                 durable: bool = False) -> PostgresServer:
    """Sweep leftovers, then initialise and start a new server under ``root`` (default
    :func:`scratch_root`) for the process ``owner`` (default this one); return it running.
    ``durable``: fsync, synchronous commit and full-page writes on (PostgreSQL's defaults),
    else off (a test server).

    Raises :class:`PostgresUnavailable` when the binaries are missing or the server does not
    start (three attempts on fresh ports: a probed port can be taken before the server binds it).
    """
    bindir = find_bindir()
    root = scratch_root() if root is None else root
    sweep_leftovers(root, bindir)
    directory = Path(tempfile.mkdtemp(prefix=f"pg-{os.getpid() if owner is None else owner}-",
                                      dir=root))
    try:
        server = _init(directory, bindir)
        for _attempt in range(3):
            server = PostgresServer(directory, bindir, free_port(), server.password)
            _write_settings(server, durable=durable)
            result = _pg_ctl(server.bindir, server.data, "start", "-w",
                             "-l", str(directory / "server.log"))
            if result.returncode == 0:
                return server
        log = (directory / "server.log").read_text(errors="replace")[-2000:]
        raise PostgresUnavailable(f"PostgreSQL did not start on 127.0.0.1 (pg_ctl exit "
                                  f"{result.returncode}):\n{result.stdout}\n{log}")
    except BaseException:
        _remove(directory, bindir)
        raise


def stop_server(server: PostgresServer) -> None:
    """Stop ``server`` (fast shutdown: open sessions are closed) and delete its directory."""
    _remove(server.directory, server.bindir)


def sweep_leftovers(root: Path, bindir: Path) -> list[Path]:
    """Stop and remove the servers under ``root`` whose owning process is gone; return their
    directories. Directories of live owners are left alone."""
    swept = []
    for directory in sorted(root.glob("pg-*-*")):
        owner = directory.name.split("-")[1]
        if owner.isdigit() and not _alive(int(owner)):
            _remove(directory, bindir)
            swept.append(directory)
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when we are root, else as ourselves."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _init(directory: Path, bindir: Path) -> PostgresServer:
    """``initdb`` a cluster in ``directory/data`` with a random superuser password."""
    password = secrets.token_hex(16)
    pwfile = directory / "password"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        shutil.chown(pwfile, "postgres", "postgres")
    pwfile.chmod(0o600)
    result = subprocess.run(
        _as_server_user([str(bindir / "initdb"), "-D", str(directory / "data"),
                         "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                         "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                         "--no-instructions"]),
        capture_output=True, text=True, check=False)
    pwfile.unlink()
    if result.returncode != 0:
        raise PostgresUnavailable(f"initdb failed in {directory} (exit {result.returncode}):\n"
                                  f"{result.stdout}{result.stderr}"[-2000:])
    return PostgresServer(directory, bindir, 0, password)


def _write_settings(server: PostgresServer, *, durable: bool) -> None:
    """Loopback only, the port, the socket in the scratch directory; speed over durability
    unless ``durable``."""
    socket_dir = str(server.directory).replace("'", "''")
    settings = server.data / "postgresql.auto.conf"
    flag = "on" if durable else "off"
    settings.write_text(
        "listen_addresses = '127.0.0.1'\n"
        f"port = {server.port}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        f"fsync = {flag}\n"
        f"synchronous_commit = {flag}\n"
        f"full_page_writes = {flag}\n"
        "max_connections = 50\n"
        f"shared_buffers = {'128MB' if durable else '32MB'}\n")
    if os.geteuid() == 0:
        shutil.chown(settings, "postgres", "postgres")


def _pg_ctl(bindir: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-t", str(PG_CTL_TIMEOUT),
                         *args]),
        capture_output=True, text=True, check=False)


def _remove(directory: Path, bindir: Path) -> None:
    """Stop the server of ``directory`` if one runs there, then delete the directory."""
    data = directory / "data"
    if (data / "postmaster.pid").exists():
        result = _pg_ctl(bindir, data, "stop", "-w", "-m", "fast")
        if result.returncode != 0 and (data / "postmaster.pid").exists():
            _pg_ctl(bindir, data, "stop", "-w", "-m", "immediate")
    shutil.rmtree(directory, ignore_errors=True)
