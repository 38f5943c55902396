"""`argus sim`: the PVE API simulator in the foreground, until Ctrl+C or SIGTERM."""

from __future__ import annotations

import argparse
import signal

from argus_tui.cli.context import CliContext
from argus_tui.cli.output import fail
from argus_tui.errors import EXIT_OK, EXIT_USAGE
from argus_tui.sim.demo import demo_scenario, generated_scenario, parse_generate
from argus_tui.sim.scenario import Scenario, ScenarioError, load_scenario
from argus_tui.sim.server import Simulator


def run(ctx: CliContext, args: argparse.Namespace) -> int:
    if (args.cert is None) != (args.key is None):
        return fail("--cert and --key go together", EXIT_USAGE)
    try:
        scenario = _scenario(args)
    except ScenarioError as exc:
        return fail(f"bad scenario: {exc}", EXIT_USAGE)
    try:
        sim = Simulator(
            scenario,
            host=args.host,
            port=args.port,
            cert_file=args.cert,
            key_file=args.key,
            verbose=args.verbose,
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return fail(
            f"cannot listen on {args.host}:{args.port}: {reason}; try another --port (0 picks a"
            " free one)",
            EXIT_USAGE,
        )
    except ValueError as exc:
        return fail(f"cannot use the certificate: {exc}", EXIT_USAGE)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print(_banner(sim, scenario), flush=True)  # after the handlers: Ctrl+C may come at once
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return EXIT_OK


def _scenario(args: argparse.Namespace) -> Scenario:
    if args.scenario is not None:
        scenario = load_scenario(args.scenario)
        if args.seed is not None:
            scenario.seed = args.seed
        return scenario
    if args.generate is not None:
        return generated_scenario(seed=args.seed or 0, **parse_generate(args.generate))
    return demo_scenario(args.seed)


def _banner(sim: Simulator, scenario: Scenario) -> str:
    """What to copy: the URL, the token, the fingerprint, and an example or two."""
    return "\n".join(
        [
            f"Proxmox VE simulator ({scenario.cluster_name or scenario.nodes[0].name}, "
            f"PVE {scenario.version}, {_count(len(scenario.nodes), 'node')},"
            f" {_count(len(scenario.guests), 'guest')})",
            f"  URL:          {sim.url}/",
            f"  API:          {sim.api_url}",
            f"  Token id:     {sim.token_id}",
            f"  Token secret: {sim.token_secret}",
            f"  Fingerprint:  {sim.fingerprint}",
            "",
            "Use it from another shell (the certificate is new on each start unless --cert/--key):",
            f"  export ARGUS_HOST={sim.url.removeprefix('https://')}"
            f" ARGUS_TOKEN_ID='{sim.token_id}' ARGUS_TOKEN_SECRET='{sim.token_secret}'"
            f" ARGUS_FINGERPRINT={sim.fingerprint}",
            "  argus",
            "",
            "Try:",
            f"  curl -k -H 'Authorization: PVEAPIToken={sim.token_id}={sim.token_secret}' "
            f"{sim.api_url}/cluster/resources",
            "Press Ctrl+C to stop.",
        ]
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
