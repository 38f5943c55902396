"""`argus doctor`'s look at the team database: reachable, TLS, schema, write rights.

On a connection of its own that creates and migrates nothing; the test write is rolled
back. Every failure is a Probe with what to do, never an exception.
"""

from __future__ import annotations

import contextlib

import psycopg

from argus_tui.errors import StoreError

from ..records import Probe
from .connection import Database
from .errors import failure, reason_of
from .reading import TABLES
from .schema import SCHEMA_VERSION, Conn, version
from .target import is_local

_LOGIN_HINT = (
    "check the URL, the server's pg_hba.conf, and the password (`argus history login`,"
    " ~/.pgpass or PGPASSWORD)"
)


def diagnose(db: Database) -> list[Probe]:
    """reachable, tls, schema and write probes, in that order; stops after an
    unreachable database."""
    try:
        conn = db.connect()
    except StoreError as exc:
        return [Probe("reachable", False, exc.message, exc.hint or _LOGIN_HINT)]
    with contextlib.closing(conn):
        try:
            return _probes(db, conn)
        except psycopg.Error as exc:
            error = failure(db.where, "checking", exc, broken=conn.broken)
            return [Probe("reachable", False, error.message, error.hint)]


def _probes(db: Database, conn: Conn) -> list[Probe]:
    info = conn.info
    row = conn.execute("SHOW server_version").fetchone()
    server = str(row[0]).split()[0] if row else "?"
    where = f"{info.host}:{info.port}" if not info.host.startswith("/") else info.host
    probes = [Probe("reachable", True, f"PostgreSQL {server} at {where}, database {info.dbname}")]
    hosts = (db.target.host or info.host).split(",")
    if all(is_local(h) for h in hosts) and all(
        is_local(a) for a in db.target.params.get("hostaddr", "").split(",")
    ):
        probes.append(Probe("tls", True, "local connection, TLS not needed"))
    else:
        mode = info.get_parameters().get("sslmode", "prefer")
        if info.pgconn.ssl_in_use:
            probes.append(Probe("tls", True, f"TLS (sslmode {mode})"))
        else:
            probes.append(
                Probe(
                    "tls",
                    False,
                    f"the connection is not encrypted (sslmode {mode})",
                    "add ?sslmode=verify-full&sslrootcert=FILE to the URL and enable ssl on"
                    " the server",
                )
            )
    current = version(conn)
    can_create = _one(conn, "SELECT has_schema_privilege(current_schema(), 'CREATE')")
    if current is not None and current > SCHEMA_VERSION:
        probes.append(
            Probe(
                "schema",
                False,
                f"schema {current}, written by a newer Argus (this one knows {SCHEMA_VERSION})",
                "upgrade Argus on this machine",
            )
        )
        return probes
    if current != SCHEMA_VERSION and not can_create:
        role = info.user
        probes.append(
            Probe(
                "schema",
                False,
                "no Argus tables yet, and this role may not create them"
                if current is None
                else f"schema {current}, and this role may not upgrade it to {SCHEMA_VERSION}",
                f"GRANT CREATE ON SCHEMA public TO {role}, or start Argus once as the owner",
            )
        )
        return probes
    if current is None:
        created = f"no tables yet: the first use creates schema {SCHEMA_VERSION}"
        probes.append(Probe("schema", True, created))
    else:
        note = "" if current == SCHEMA_VERSION else f", upgraded to {SCHEMA_VERSION} on first use"
        probes.append(Probe("schema", True, f"schema {current}{note}"))
    probes.append(_write(conn, tables=current is not None))
    return probes


def _one(conn: Conn, query: str, *params: str) -> bool:
    row = conn.execute(query, list(params)).fetchone()
    return bool(row and row[0])


def _write(conn: Conn, *, tables: bool) -> Probe:
    """What recording needs: rights on every table (when there are tables yet), a
    temporary table, and a real write (rolled back)."""
    hint = (
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO"
        f" {conn.info.user} (and TEMP on the database)"
    )
    # has_table_privilege with several privileges is true if any one is held: ask each.
    lacking = conn.execute(
        "SELECT DISTINCT t FROM unnest(%s::text[]) t,"
        " unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p"
        " WHERE NOT has_table_privilege(t, p) ORDER BY t",
        [list(TABLES) if tables else []],
    ).fetchall()
    missing = [str(r[0]) for r in lacking]
    if not _one(conn, "SELECT has_database_privilege(current_database(), 'TEMP')"):
        missing.append("temporary tables")
    if missing:
        return Probe("write", False, f"this role may not write {', '.join(missing)}", hint)
    if not tables:
        return Probe("write", True, "the role may create the tables and temporary tables")
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(
                "INSERT INTO actions (ts, profile, token_id, vmid, guest, node, action, upid,"
                " result, duration) VALUES (0, 'argus doctor', '', 0, '', '', 'probe', '', '', 0)"
            )
    except psycopg.Error as exc:
        return Probe("write", False, f"a test write failed: {reason_of(exc)[0]}", hint)
    return Probe("write", True, "a test write succeeded (rolled back)")
