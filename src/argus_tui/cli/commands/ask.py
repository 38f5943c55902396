"""`argus ask`: the troubleshooting assistant, once, with the answer streamed to stdout."""

from __future__ import annotations

import argparse
import sys

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import warn
from argus_tui.cli.parser import parse_upid
from argus_tui.domain.models import ClusterSnapshot, Guest, Node, Task
from argus_tui.domain.text import printable
from argus_tui.errors import EXIT_OK, ConfigError, LlmError, OperationFailed
from argus_tui.llm.settings import not_configured
from argus_tui.pve.mapping import MappingError, task_from
from argus_tui.services.assistant import Assistant
from argus_tui.services.snapshot import collect


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    question = " ".join(args.question).strip()
    if not question:
        raise ConfigError(
            "the question is empty", hint='e.g. argus ask --vmid 105 "why won\'t it start?"'
        )
    upid = parse_upid(args.task) if args.task is not None else None
    client = ctx.client()
    llm = ctx.llm_settings(ctx.resolved.profile)
    if llm is None and not args.context_only:
        raise not_configured()
    session = ctx.session(record=not args.no_history, llm=llm)
    snapshot = collect(client)
    guest: Guest | None = None
    node: Node | None = None
    task: Task | None = None
    if args.vmid is not None:
        guest = ctx.find_guest(snapshot, args.vmid)
    elif args.node is not None:
        node = _find_node(snapshot, args.node)
    elif upid is not None:
        status = client.task_status(upid.node, str(upid))
        try:
            task = task_from({**status, "upid": str(upid)})
        except MappingError as exc:
            raise OperationFailed(f"cannot read task {upid}: {exc}") from None
    assistant = Assistant(session)
    context = assistant.gather_context(snapshot, guest=guest, node=node, task=task)
    if args.show_context or args.context_only:
        print(context.text)
        print(f"--- {context.size} characters" + (", trimmed to fit" if context.trimmed else ""))
        if args.context_only:
            return EXIT_OK
    answer = assistant.ask(question, context)
    try:
        for chunk in answer:
            sys.stdout.write(printable(chunk, keep_newlines=True))
            sys.stdout.flush()
    except LlmError:
        if answer.text and not answer.text.endswith("\n"):
            sys.stdout.write("\n")  # the error goes on its own line after the partial answer
        sys.stdout.flush()
        raise
    finally:
        answer.close()  # journals an interrupted answer as cancelled
        for warning in assistant.take_warnings():
            warn(warning)
        if session.history is not None:
            session.history.close()
    if not answer.text.endswith("\n"):
        print()
    return EXIT_OK


def _find_node(snapshot: ClusterSnapshot, name: str) -> Node:
    node = next((n for n in snapshot.nodes if n.name == name), None)
    if node is None:
        known = ", ".join(printable(n.name) for n in snapshot.nodes) or "none"
        raise OperationFailed(f"no node {name!r} in the cluster (nodes: {known})")
    return node
