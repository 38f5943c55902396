"""`argus doctor`: reachability, TLS, the token, and what it may and may not do."""

from __future__ import annotations

import argparse
import sys

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import print_json
from argus_tui.domain.text import printable
from argus_tui.errors import ArgusError
from argus_tui.services import doctor


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    report = doctor.run(ctx.client())
    resolved = ctx.resolved
    assistant = _assistant(ctx, resolved.profile)
    if args.json:
        data = report.to_json()
        data["profile"] = resolved.profile
        data["secret_source"] = resolved.secret_source
        data["assistant"] = assistant
        print_json(data)
        return report.exit_code
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
    print("Recommended roles (pveum on a node):")
    for command in report.recommended:
        print(f"  {command}")
    if report.error is not None:
        print(f"argus: {report.error}", file=sys.stderr)
    return report.exit_code


def _assistant(ctx: CliContext, profile: str | None) -> str:
    """One line on the assistant's settings; unusable ones are reported, not fatal."""
    try:
        llm = ctx.llm_settings(profile)
    except ArgusError as exc:
        return f"settings unusable: {exc}"
    if llm is None:
        return "not configured"
    return llm.describe() + (f"; {llm.key_problem}" if llm.key_problem else "")
