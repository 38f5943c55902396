"""The `argus` command: the only composition root (flags -> objects -> what runs).

Every expected failure becomes one line on stderr and an exit code from DESIGN §1:
0 ok, 1 operation failed, 2 usage or configuration error, 3 cannot reach or
authenticate, 4 permission denied. Tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from argus_tui import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_DENIED = 4


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"argus: {message} (see 'argus --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="argus",
        description="A keyboard-driven terminal UI for Proxmox VE.",
    )
    parser.add_argument("--version", action="version", version=f"argus {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sim = commands.add_parser(
        "sim",
        help="run the Proxmox VE API simulator in the foreground",
        description="Serve a simulated Proxmox VE cluster over HTTPS until interrupted.",
    )
    source = sim.add_mutually_exclusive_group()
    source.add_argument("--scenario", type=Path, metavar="FILE", help="scenario TOML file")
    source.add_argument(
        "--generate",
        metavar="SPEC",
        help="generate a large cluster, e.g. nodes=50,guests=10000",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--port", type=int, default=8006, help="port (0 picks a free one)")
    sim.add_argument("--seed", type=int, help="override the scenario's seed")
    sim.add_argument("--cert", type=Path, metavar="PEM", help="serve this certificate")
    sim.add_argument("--key", type=Path, metavar="PEM", help="private key for --cert")
    sim.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def _fail(message: str, code: int) -> int:
    print(f"argus: {message}", file=sys.stderr)
    return code


def run_sim(args: argparse.Namespace) -> int:
    from argus_tui.sim.demo import demo_scenario, generated_scenario, parse_generate
    from argus_tui.sim.scenario import ScenarioError, load_scenario
    from argus_tui.sim.server import Simulator

    if (args.cert is None) != (args.key is None):
        return _fail("--cert and --key go together", EXIT_USAGE)
    try:
        if args.scenario is not None:
            scenario = load_scenario(args.scenario)
            if args.seed is not None:
                scenario.seed = args.seed
        elif args.generate is not None:
            spec = parse_generate(args.generate)
            scenario = generated_scenario(seed=args.seed or 0, **spec)
        else:
            scenario = demo_scenario(args.seed)
    except ScenarioError as exc:
        return _fail(f"bad scenario: {exc}", EXIT_USAGE)
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
        return _fail(
            f"cannot listen on {args.host}:{args.port}: {reason}; try another --port (0 picks a"
            " free one)",
            EXIT_USAGE,
        )
    except ValueError as exc:
        return _fail(f"cannot use the certificate: {exc}", EXIT_USAGE)

    lines = [
        f"Proxmox VE simulator ({scenario.cluster_name or scenario.nodes[0].name}, "
        f"PVE {scenario.version}, {len(scenario.nodes)} nodes, {len(scenario.guests)} guests)",
        f"  URL:          {sim.url}/",
        f"  API:          {sim.api_url}",
        f"  Token id:     {sim.token_id}",
        f"  Token secret: {sim.token_secret}",
        f"  Fingerprint:  {sim.fingerprint}",
        "",
        "Try:",
        f"  curl -k -H 'Authorization: PVEAPIToken={sim.token_id}={sim.token_secret}' "
        f"{sim.api_url}/cluster/resources",
        "Press Ctrl+C to stop.",
    ]
    print("\n".join(lines), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sim":
        return run_sim(args)
    parser.print_help()
    return EXIT_USAGE
