"""`argus doctor`: reachability, TLS, the token, and what it may and may not do."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import print_json
from argus_tui.domain.text import printable
from argus_tui.errors import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, ArgusError
from argus_tui.services import doctor
from argus_tui.store import Probe


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    report = doctor.run(ctx.client())
    resolved = ctx.resolved
    assistant = _assistant(ctx, resolved.profile)
    backend, probes = _history(ctx)
    code = report.exit_code or _history_code(ctx, probes)
    if args.json:
        data = report.to_json()
        data["profile"] = resolved.profile
        data["secret_source"] = resolved.secret_source
        data["assistant"] = assistant
        data["history"] = {"backend": backend, "checks": [asdict(p) for p in probes]}
        print_json(data)
        return code
    print(
        f"Argus doctor for {report.server} as {report.token_id}"
        f" (profile: {resolved.profile or 'none'}, secret from {resolved.secret_source})"
    )
    for check in report.checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    if report.features:
        print("Features:")
        for feature in report.features:
            state = "ok" if feature.ok else "NO"
            line = f"  [{state}] {feature.title}"
            if not feature.ok:
                line += (
                    f": needs {feature.privilege} on {feature.path}; grant with: {feature.grant}"
                )
                if feature.held_on:
                    line += f" (held on {', '.join(feature.held_on)} only)"
            elif feature.except_on:
                line += f" (except on {', '.join(feature.except_on)})"
            print(printable(line))
    for advice in report.advice:
        print(f"Note: {advice}")
    print(f"Assistant: {assistant}")
    if assistant == "not configured":
        print("  set ARGUS_LLM_BASE_URL and ARGUS_LLM_MODEL (see README: the assistant)")
    print(f"History: {backend}")
    for probe in probes:
        line = f"  [{'ok' if probe.ok else 'FAIL'}] {probe.name}: {probe.detail}"
        if not probe.ok and probe.hint:
            line += f"; {probe.hint}"
        print(printable(line))
    print("Recommended roles (pveum on a node):")
    for command in report.recommended:
        print(f"  {command}")
    if report.error is not None:
        print(f"argus: {report.error}", file=sys.stderr)
    elif code:
        failed = next(p for p in probes if not p.ok)
        print(f"argus: history {failed.name} check failed: {failed.detail}", file=sys.stderr)
    return code


def _history(ctx: CliContext) -> tuple[str, list[Probe]]:
    """Which history records, and its checks (reachable, TLS, schema, a test write)."""
    try:
        store = ctx.history()
    except ArgusError as exc:
        return "settings unusable", [Probe("settings", False, str(exc))]
    if store is None:
        return "off ([history] enabled = false)", []
    try:
        return store.describe(), store.diagnose()
    finally:
        store.close()


def _history_code(ctx: CliContext, probes: list[Probe]) -> int:
    """0 when every check passed; 3 for a team database that cannot be reached, else 1."""
    failed = [p for p in probes if not p.ok]
    if not failed:
        return EXIT_OK
    if failed[0].name == "reachable" and ctx.team_history is not None:
        return EXIT_UNREACHABLE
    return EXIT_FAILED


def _assistant(ctx: CliContext, profile: str | None) -> str:
    """One line on the assistant's settings; unusable ones are reported, not fatal."""
    try:
        llm = ctx.llm_settings(profile)
    except ArgusError as exc:
        return f"settings unusable: {exc}"
    if llm is None:
        return "not configured"
    return llm.describe() + (f"; {llm.key_problem}" if llm.key_problem else "")
