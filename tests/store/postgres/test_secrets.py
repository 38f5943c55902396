"""The team database never holds a secret: a whole session (refreshes, tasks, a power
action, assistant questions, a failed one) through the services, then a pg_dump of it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from argus_tui.domain.secret import Secret
from argus_tui.errors import LlmError
from argus_tui.services.assistant import Assistant
from argus_tui.sim.server import Simulator
from argus_tui.store.postgres import PostgresHistory
from tests.llm.conftest import LLM_KEY, llm_settings
from tests.llm.fake_llm import FakeLLM, fake_llm  # noqa: F401 (a fixture)
from tests.pg_server import PgServer, PgUnavailable, require
from tests.ui.conftest import session_for

PASSWORD = "Team-DB-Pa55word-7f3e9c"


@pytest.fixture
def team_db(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    """(url, dbname): a database owned by a role that logs in with PASSWORD."""
    role = pg_server.create_role(PASSWORD)
    name = pg_server.create_database(owner=role)
    try:
        yield pg_server.url(name, user=role), name
    finally:
        pg_server.drop_database(name)
        pg_server.drop_role(role)


def _dump(server: PgServer, dbname: str) -> str:
    try:
        pg_dump = server.tool("pg_dump")
    except PgUnavailable as exc:
        require(str(exc))
        raise
    done = subprocess.run(
        [pg_dump, "--no-owner", "--inserts", server.url(dbname)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_a_session_leaves_no_secret_in_the_database(
    sim: Simulator,
    fake_llm: FakeLLM,  # noqa: F811
    pg_server: PgServer,
    team_db: tuple[str, str],
) -> None:
    url, dbname = team_db
    store = PostgresHistory(url, password=Secret(PASSWORD), auto_prune=False)
    session = session_for(sim, history=store, llm=llm_settings(fake_llm))
    session.refresh(with_tasks=True)
    snap = session.snapshot()
    stopped = next(
        g for g in snap.guests if g.status == "stopped" and not g.template and g.vmid != 105
    )  # 105 is the one that fails to start
    upid = session.power.start(stopped, "start")
    assert session.power.follow(stopped, "start", upid, sleep=lambda _: sim.advance(5)).ok
    session.refresh(with_tasks=True)
    assistant = Assistant(session)
    failed = next(g for g in snap.guests if g.vmid == 105)
    context = assistant.gather_context(session.snapshot(), guest=failed)
    asked = f"why? my token is {sim.token_secret} and the key {LLM_KEY}"
    assert "".join(assistant.ask(asked, context))
    fake_llm.mode = "401"  # an error text is journaled too
    with pytest.raises(LlmError):
        "".join(assistant.ask("and now?", context))
    journal = store.actions(0)
    assert [(a["vmid"], a["action"], a["token_id"]) for a in journal] == [
        (stopped.vmid, "start", sim.token_id)
    ]
    assert [e["outcome"] for e in store.exchanges(0)] == ["ok", "error"]
    assert store.tasks(session.history_profile) and store.changes(session.history_profile, 0)
    session.close()

    dump = _dump(pg_server, dbname)
    assert f"'{sim.token_id}'" in dump and "INSERT INTO public.exchanges" in dump  # it is all there
    for never in (sim.token_secret, LLM_KEY, PASSWORD):
        assert never not in dump
