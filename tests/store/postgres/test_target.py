"""The URL rules, without a server: what people see of it, and the TLS Argus insists on."""

from __future__ import annotations

import pytest

from argus_tui.errors import StoreError
from argus_tui.store.postgres import PostgresHistory, connect_options, is_local, parse, tls_options


def _tls(url: str, env: dict[str, str] | None = None, *, root: bool = False) -> dict[str, str]:
    return tls_options(parse(url), env or {}, default_root_exists=root)


def test_describe_names_user_host_port_and_database_never_the_password() -> None:
    url = "postgresql://argus:hunter2-secret@db.example:5432/argus?sslmode=require"
    assert PostgresHistory(url).describe() == "PostgreSQL argus@db.example:5432/argus"
    target = parse(url)
    assert target.has_password and "password" not in target.params
    assert "hunter2" not in repr(target)
    assert parse("postgresql:///argus").where() == "local socket/argus"
    assert parse("host=/run/postgresql dbname=h").where() == "socket /run/postgresql/h"


def test_a_url_libpq_cannot_read_fails_on_first_use_without_repeating_it() -> None:
    st = PostgresHistory("postgresql://u:hunter2@db/argus?no_such_option=1")
    assert st.describe() == "PostgreSQL (URL not valid)"  # constructing never raises
    with pytest.raises(StoreError) as info:
        st.actions()
    assert "not a valid PostgreSQL URL" in str(info.value) and "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.0.0.1", "::1", "[::1]", "/run/postgresql", "@abstract", "", "LOCALHOST"],
)
def test_local_hosts(host: str) -> None:
    assert is_local(host)


@pytest.mark.parametrize(
    "host", ["db.example", "10.0.0.5", "127.0.0.2", "fe80::1", "localhost.example"]
)
def test_remote_hosts(host: str) -> None:
    assert not is_local(host)


def test_a_remote_host_is_verified_unless_the_url_chose_a_mode() -> None:
    assert _tls("postgresql://u@db.example/argus") == {
        "sslmode": "verify-full",
        "sslrootcert": "system",
    }
    # a CA of the user's own: libpq's default file, the URL's, or PGSSLROOTCERT
    assert _tls("postgresql://u@db.example/argus", root=True) == {"sslmode": "verify-full"}
    assert _tls("postgresql://u@db.example/argus?sslrootcert=/etc/ca.pem") == {
        "sslmode": "verify-full"
    }
    assert _tls("postgresql://u@db.example/a", {"PGSSLROOTCERT": "/ca"}) == {
        "sslmode": "verify-full"
    }
    # the URL's (or the environment's) own choice stands, even a weaker one
    assert _tls("postgresql://u@db.example/argus?sslmode=disable") == {}
    assert _tls("postgresql://u@db.example/argus", {"PGSSLMODE": "require"}) == {}
    # one remote host among several is enough
    assert _tls("postgresql://u@localhost,db.example/argus")["sslmode"] == "verify-full"
    assert _tls("postgresql://u@localhost/argus?hostaddr=10.1.2.3")["sslmode"] == "verify-full"


def test_a_local_connection_is_left_as_libpq_has_it() -> None:
    for url in (
        "postgresql://u@localhost/argus",
        "postgresql://u@127.0.0.1:5433/argus",
        "postgresql://u@[::1]/argus",
        "postgresql:///argus?host=/run/postgresql",
        "postgresql:///argus",
        "dbname=argus",
    ):
        assert _tls(url) == {}, url
    # no host in the URL: PGHOST decides
    assert _tls("postgresql:///argus", {"PGHOST": "db.example"})["sslmode"] == "verify-full"


def test_connect_options_keep_what_the_url_sets() -> None:
    options = connect_options(
        parse("postgresql://u@localhost/a"), {}, 5.0, default_root_exists=False
    )
    assert options["application_name"] == "argus" and options["connect_timeout"] == 5
    assert "sslmode" not in options and "password" not in options
    mine = parse("postgresql://u@db.example/a?application_name=ops&connect_timeout=20")
    options = connect_options(mine, {}, 0.5, default_root_exists=True)
    assert "application_name" not in options and "connect_timeout" not in options
    assert options["sslmode"] == "verify-full"
    assert (
        connect_options(parse("dbname=a"), {}, 0.1, default_root_exists=False)["connect_timeout"]
        == 2
    )  # libpq's own minimum
