"""`argus tasks` (recent tasks), `argus task-log UPID` (one task's log, or its tail) and
`argus task-stop UPID` (stop a running task: its owner token, or Sys.Modify on its node)."""

from __future__ import annotations

import argparse
import sys
import time

from argus_tui.cli.actions import journal_warnings, refuse_if_read_only
from argus_tui.cli.context import CliContext
from argus_tui.cli.output import print_json
from argus_tui.cli.parser import parse_upid
from argus_tui.domain.models import exit_ok
from argus_tui.domain.text import printable
from argus_tui.errors import EXIT_FAILED, EXIT_OK, OperationFailed
from argus_tui.pve.mapping import task_from
from argus_tui.services.tasks import follow_log, recent_tasks, task_json


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    if args.command == "task-stop":
        return task_stop(ctx, args)
    return task_log(ctx, args) if args.command == "task-log" else tasks(ctx, args)


def tasks(ctx: CliContext, args: argparse.Namespace) -> int:
    found, warnings = recent_tasks(ctx.client(), failed_only=args.failed, limit=args.limit)
    if args.json:
        print_json([task_json(t) for t in found])
    else:
        print(
            f"{'STARTED':<19} {'NODE':<10} {'TYPE':<12} {'ID':<8} {'USER':<24} {'STATUS':<24}"
            " UPID (for task-log)"
        )
        for task in found:
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(task.starttime))
            status = "running" if task.running else printable(task.status or "")
            print(
                f"{started:<19} {printable(task.node):<10} {printable(task.type):<12}"
                f" {printable(task.id):<8} {printable(task.user):<24} {status:<24}"
                f" {printable(task.upid)}"
            )
        if not found:
            print("(no tasks)" if not args.failed else "(no failed tasks)")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def task_log(ctx: CliContext, args: argparse.Namespace) -> int:
    upid = parse_upid(args.upid)
    client = ctx.client()

    def emit(line: str) -> None:
        print(printable(line), flush=True)

    final = follow_log(client, upid, emit, follow=args.follow)
    if final is not None and not exit_ok(final):
        return EXIT_FAILED
    return EXIT_OK


def task_stop(ctx: CliContext, args: argparse.Namespace) -> int:
    """The task's state from the server first: a finished task is not stopped again."""
    upid = parse_upid(args.upid)
    refuse_if_read_only(ctx.resolved.read_only, "stop tasks")
    session = ctx.session()
    item = session.client.task_status(upid.node, str(upid))
    task = task_from({"upid": str(upid), "node": upid.node, **item})
    if not task.running:
        raise OperationFailed(
            f"task {printable(task.type)} {printable(task.id)} has already finished"
            f" ({printable(task.status or 'unknown')})"
        )
    session.stop_task(task)
    journal_warnings(session.runner.take_journal_errors())
    print(
        f"Stop of task {printable(task.type)} {printable(task.id)} on {printable(task.node)}"
        " requested"
    )
    return EXIT_OK
