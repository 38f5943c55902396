"""Fixtures for the assistant: the fake OpenAI-compatible server and sessions on the sim."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from argus_tui.domain.secret import Secret
from argus_tui.llm.settings import LlmSettings
from argus_tui.services.session import Session
from argus_tui.sim.server import Simulator
from argus_tui.store import HistoryStore
from argus_tui.store.sqlite import SqliteHistory
from tests.llm.fake_llm import FakeLLM, fake_llm  # noqa: F401 (the fixture)
from tests.ui.conftest import session_for

LLM_KEY = "sk-argus-test-0123456789abcdefXYZ"


def llm_settings(fake: FakeLLM, *, key: str | None = LLM_KEY, timeout: float = 2.0) -> LlmSettings:
    return LlmSettings(
        base_url=fake.url,
        model=fake.model,
        api_key=Secret(key) if key else None,
        timeout=timeout,
        key_source="environment" if key else "",
    )


@pytest.fixture
def history(tmp_path: Path) -> Iterator[SqliteHistory]:
    store = SqliteHistory(tmp_path / "history.db", auto_prune=False)
    yield store
    store.close()


@pytest.fixture
def make_session(fake_llm: FakeLLM, history: HistoryStore) -> Callable[..., Session]:  # noqa: F811
    """A Session on a simulator with the assistant pointed at the fake server."""

    def factory(
        sim: Simulator,
        token_id: str | None = None,
        secret: str | None = None,
        *,
        llm: LlmSettings | None = None,
        store: HistoryStore | None = history,
        read_only: bool = False,
    ) -> Session:
        return session_for(
            sim,
            token_id,
            secret,
            history=store,
            llm=llm or llm_settings(fake_llm),
            read_only=read_only,
        )

    return factory
