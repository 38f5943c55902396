"""The conversation as a UI shows it: turns begun, advanced by what the worker reports,
and reports for a cancelled turn or an older conversation dropped. Also the Answer's
own contract: nothing is sent before the first iteration, `on_finish` runs once."""

from __future__ import annotations

from collections.abc import Callable

from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.llm.client import ChatClient
from argus_tui.llm.prompt import Message
from argus_tui.services.assistant import Answer, Assistant, suggested_actions
from argus_tui.services.session import Session
from argus_tui.sim.server import Simulator
from tests.llm.conftest import llm_settings
from tests.llm.fake_llm import DEFAULT_ANSWER, FakeLLM

SessionFactory = Callable[..., Session]


def _guest(snapshot: ClusterSnapshot, vmid: int) -> Guest:
    return next(g for g in snapshot.guests if g.vmid == vmid)


def test_a_turn_follows_its_reports_to_the_end(
    sim: Simulator, fake_llm: FakeLLM, make_session: SessionFactory
) -> None:
    assistant = Assistant(make_session(sim))
    snapshot = assistant.session.snapshot()
    guest = _guest(snapshot, 105)
    turn = assistant.begin("Why won't it start?")
    assert assistant.busy and [t.state for t in assistant.turns] == ["gathering"]
    answer = assistant.answer(turn, assistant.context_for(snapshot, guest))
    assert answer is not None and fake_llm.requests == []  # sent on first iteration
    assert assistant.turn_started(turn.generation, turn.id, answer.context_chars)
    text = "".join(answer)
    assert assistant.turn_text(turn.generation, turn.id, text)
    actions = suggested_actions(text, snapshot, guest)
    assert assistant.turn_ended(turn.generation, turn.id, "ok", actions=actions)
    (shown,) = assistant.turns
    assert (shown.state, shown.answer, shown.question) == ("done", DEFAULT_ANSWER, turn.question)
    assert shown.context_chars == answer.context_chars > 0
    assert not assistant.busy
    offered = assistant.offered
    assert offered is not None and (offered.action, offered.vmid) == ("start", 105)
    # an ended turn takes no more reports
    assert not assistant.turn_text(turn.generation, turn.id, "more")
    assert not assistant.turn_ended(turn.generation, turn.id, "error", error="late")
    assert assistant.turns == (shown,)


def test_text_of_a_cancelled_turn_is_dropped(
    sim: Simulator, fake_llm: FakeLLM, make_session: SessionFactory
) -> None:
    assistant = Assistant(make_session(sim))
    turn = assistant.begin("why?")
    answer = assistant.answer(turn, None)
    assert answer is not None
    assert assistant.turn_started(turn.generation, turn.id, 0)
    assert assistant.turn_text(turn.generation, turn.id, "part one")
    assistant.cancel()
    (shown,) = assistant.turns
    assert shown.state == "cancelled" and not assistant.busy
    assert not assistant.turn_text(turn.generation, turn.id, " part two")
    assert assistant.turns[0].answer == "part one"
    assert list(answer) == [] and answer.outcome == "cancelled"  # the stream stopped too


def test_a_question_cancelled_while_gathering_is_never_sent(
    sim: Simulator, fake_llm: FakeLLM, make_session: SessionFactory
) -> None:
    assistant = Assistant(make_session(sim))
    turn = assistant.begin("why?")
    assistant.cancel()
    assert assistant.answer(turn, None) is None
    assert fake_llm.requests == [] and assistant.turns[0].state == "cancelled"


def test_reports_of_an_older_conversation_are_dropped(
    sim: Simulator, fake_llm: FakeLLM, make_session: SessionFactory
) -> None:
    session = make_session(sim)
    assistant = Assistant(session)
    old = assistant.begin("first")
    assistant.reset()
    assert assistant.turns == () and assistant.generation == old.generation + 1
    assert assistant.answer(old, None) is None  # it never joins the new conversation
    assert not assistant.turn_started(old.generation, old.id, 0)
    new = assistant.begin("second")
    assert new.generation == assistant.generation and new.id != old.id
    assert not assistant.turn_text(old.generation, new.id, "stale")
    # another session's conversation (a profile switch) never shares a turn id
    other = Assistant(session).begin("elsewhere")
    assert other.id not in (old.id, new.id)
    assert not assistant.turn_text(assistant.generation, other.id, "not mine")
    assert [t.answer for t in assistant.turns] == [""]
    assert fake_llm.requests == []


def test_an_answer_opens_its_stream_once_and_finishes_once(fake_llm: FakeLLM) -> None:
    client = ChatClient(llm_settings(fake_llm))
    finished: list[Answer] = []
    answer = Answer(
        "why?",
        [Message("user", "why?")],
        None,
        open_stream=client.stream,
        on_finish=finished.append,
        model="'fake-model'",
    )
    assert fake_llm.requests == [] and not answer.finished
    assert "".join(answer) == DEFAULT_ANSWER
    answer.close()  # already finished: nothing more happens
    assert finished == [answer] and answer.outcome == "ok" and answer.duration > 0
    assert len(fake_llm.requests) == 1
    client.close()
