"""TLS on the wire and failures in words: what libpq is told, and what users are told."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import psycopg
import pytest

from argus_tui.errors import StoreUnavailable
from argus_tui.store.postgres import PostgresHistory
from argus_tui.store.postgres.errors import failure, reason_of

SSL_REQUEST = 80877103  # the first packet of a client that wants TLS
STARTUP = 196608  # protocol 3.0: the startup packet, sent in plain text


class FirstPacket:
    """A listener that answers "no TLS here" and keeps what each client sent first."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.codes: list[int] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(3)
                try:
                    head = conn.recv(8)
                    while len(head) == 8:  # a TLS request, then perhaps the startup packet
                        code = struct.unpack("!ii", head)[1]
                        self.codes.append(code)
                        if code != SSL_REQUEST:
                            break  # a startup packet: hang up before any login
                        conn.sendall(b"N")  # no TLS here
                        head = conn.recv(8)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[FirstPacket]:
    fake = FirstPacket()
    yield fake
    fake.close()


def test_a_remote_host_gets_verified_tls_and_no_plain_text_fallback(listener: FirstPacket) -> None:
    # db.example names the server (not local); hostaddr sends the packets to the listener.
    url = f"postgresql://argus@db.example:{listener.port}/argus?hostaddr=127.0.0.1"
    with pytest.raises(StoreUnavailable) as info:
        PostgresHistory(url, timeout=2).actions()
    assert listener.codes == [SSL_REQUEST]  # asked for TLS, and did not go on without it
    assert info.value.reason == "TLS failed"
    assert "sslrootcert" in str(info.value)


def test_the_urls_own_sslmode_is_used(listener: FirstPacket) -> None:
    url = f"postgresql://argus@db.example:{listener.port}/argus?hostaddr=127.0.0.1&sslmode=disable"
    with pytest.raises(StoreUnavailable):
        PostgresHistory(url, timeout=2).actions()
    assert listener.codes == [STARTUP]  # straight to a plain-text login


def test_a_local_server_is_left_to_libpq(listener: FirstPacket) -> None:
    url = f"postgresql://argus@127.0.0.1:{listener.port}/argus"
    with pytest.raises(StoreUnavailable):
        PostgresHistory(url, timeout=2).actions()
    assert listener.codes == [SSL_REQUEST, STARTUP]  # libpq's "prefer": TLS if offered


LIBPQ_SAYS = [
    ('connection to server at "db", port 5432 failed: Connection refused', "connection refused"),
    ("connection to server at ... failed: timeout expired", "timed out"),
    ("failed to resolve host 'db.nowhere': [Errno -2] Name or service not known",
     "could not resolve the host name"),
    ('FATAL:  password authentication failed for user "argus"', "password authentication failed"),
    ("fe_sendauth: no password supplied", "no password was given"),
    ('FATAL:  no pg_hba.conf entry for host "10.0.0.1", user "argus"',
     "the server refused the login"),
    ('FATAL:  database "argus" does not exist', "the database does not exist"),
    ("SSL SYSCALL error: EOF detected", "connection lost"),
    ('root certificate file "/root/.postgresql/root.crt" does not exist',
     "the server's TLS certificate was not accepted"),
    ("server closed the connection unexpectedly", "connection lost"),
]  # fmt: skip


@pytest.mark.parametrize(("message", "reason"), LIBPQ_SAYS)
def test_libpq_failures_in_argus_words(message: str, reason: str) -> None:
    """Each means the database is away (StoreUnavailable), in a few words of Argus's own."""
    exc = psycopg.OperationalError(f"{message} (password=hunter2 in a conninfo)")
    assert reason_of(exc)[0] == reason
    error = failure("argus@db:5432/argus", "could not connect", exc)
    assert isinstance(error, StoreUnavailable) and error.reason == reason
    assert "hunter2" not in str(error) and "conninfo" not in str(error)
    assert str(error).startswith(
        f"history database argus@db:5432/argus: could not connect: {reason}"
    )


def test_server_errors_by_sqlstate() -> None:
    denied = psycopg.errors.InsufficientPrivilege("permission denied for table samples")
    error = failure("db", "could not record the refresh", denied)
    assert not isinstance(error, StoreUnavailable) and "permission denied" in str(error)
    assert "GRANT" in str(error)
    odd = psycopg.errors.DivisionByZero("division by zero")
    assert "DivisionByZero, SQLSTATE 22012" in str(failure("db", "x", odd))
