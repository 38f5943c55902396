"""The `argus` command: the only composition root (flags -> objects -> what runs).

Every expected failure becomes one line on stderr and an exit code from DESIGN §1:
0 ok, 1 operation failed, 2 usage or configuration error, 3 cannot reach or
authenticate, 4 permission denied. Tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from argus_tui import __version__
from argus_tui.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ArgusError,
    ConfigError,
    SecretStoreError,
)

if TYPE_CHECKING:
    from argus_tui.store.db import HistoryStore


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"argus: {message} (see 'argus --help')\n")


def _connection_flags(
    parser: argparse.ArgumentParser, *, host_required: bool = False, top: bool = False
) -> None:
    """Connection flags; on subcommands they default to "absent" so that
    `argus --profile X status` and `argus status --profile X` both work."""
    unset: object = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection (override ARGUS_* and the profile)")
    group.add_argument("--profile", metavar="NAME", default=unset, help="profile from config.toml")
    group.add_argument(
        "--host", metavar="H[:P]", required=host_required, default=unset, help="server address"
    )
    group.add_argument("--token-id", metavar="USER@REALM!NAME", default=unset, help="API token id")
    tls = group.add_mutually_exclusive_group()
    tls.add_argument(
        "--fingerprint", metavar="FP", default=unset, help="pin this SHA-256 fingerprint"
    )
    tls.add_argument(
        "--ca-file", metavar="PEM", default=unset, help="verify against this CA certificate"
    )
    tls.add_argument(
        "--insecure",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="do not verify TLS (not advised)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="argus", description="A keyboard-driven terminal UI for Proxmox VE.")
    parser.add_argument("--version", action="version", version=f"argus {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="open the TUI on a built-in simulated cluster"
    )
    _connection_flags(parser, top=True)
    parser.add_argument(
        "--interval", type=float, metavar="S", help="refresh interval (default 5 s)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sim = commands.add_parser(
        "sim",
        help="run the Proxmox VE API simulator in the foreground",
        description="Serve a simulated Proxmox VE cluster over HTTPS until interrupted.",
    )
    source = sim.add_mutually_exclusive_group()
    source.add_argument("--scenario", type=Path, metavar="FILE", help="scenario TOML file")
    source.add_argument(
        "--generate", metavar="SPEC", help="generate a large cluster, e.g. nodes=50,guests=10000"
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sim.add_argument("--port", type=int, default=8006, help="port (0 picks a free one)")
    sim.add_argument("--seed", type=int, help="override the scenario's seed")
    sim.add_argument("--cert", type=Path, metavar="PEM", help="serve this certificate")
    sim.add_argument("--key", type=Path, metavar="PEM", help="private key for --cert")
    sim.add_argument("--verbose", action="store_true", help="log every request to stderr")

    login = commands.add_parser(
        "login",
        help="check a token, store its secret in the OS keyring, save a profile",
        description="Check the API token against the server, store the secret in the OS"
        " keyring and write the profile. Without --fingerprint/--ca-file/--insecure, a"
        " certificate the system does not trust is shown and you are asked to pin it.",
    )
    _connection_flags(login, host_required=True)
    login.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")
    login.add_argument("--read-only", action="store_true", help="hide every power action")
    login.add_argument(
        "--colour",
        choices=("red", "yellow", "green", "blue", "magenta", "cyan"),
        help="profile colour, so production looks different",
    )
    login.add_argument("--yes", action="store_true", help="trust the shown certificate")

    logout = commands.add_parser("logout", help="remove a profile and its stored secret")
    logout.add_argument("--profile", metavar="NAME", help="profile to remove")
    profiles = commands.add_parser("profiles", help="list profiles")
    profiles.add_argument("--json", action="store_true", help="machine-readable output")

    doctor = commands.add_parser(
        "doctor", help="check connection, TLS, token and what the token may do"
    )
    _connection_flags(doctor)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")

    status = commands.add_parser("status", help="one snapshot of cluster, nodes and guests")
    _connection_flags(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--no-history", action="store_true", help="do not record this snapshot locally"
    )

    tasks = commands.add_parser("tasks", help="recent tasks")
    _connection_flags(tasks)
    tasks.add_argument("--failed", action="store_true", help="only failed tasks")
    tasks.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    tasks.add_argument("--json", action="store_true", help="machine-readable output")

    power = commands.add_parser(
        "power",
        help="start, shutdown, stop, reboot, reset, suspend or resume a guest",
        description="Run a power action on a guest, with the same permission and state checks"
        " as the TUI. Stop and reset ask for confirmation unless --yes.",
    )
    _connection_flags(power)
    power.add_argument(
        "action", choices=("start", "shutdown", "stop", "reboot", "reset", "suspend", "resume")
    )
    power.add_argument("vmid", type=int, metavar="VMID")
    power.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    power.add_argument("--wait", action="store_true", help="follow the task to its end")

    history = commands.add_parser("history", help="what the local history holds")
    history_cmds = history.add_subparsers(
        dest="history_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    export = history_cmds.add_parser("export", help="samples, events, tasks and actions")
    export.add_argument("--since", default="24h", help="e.g. 30m, 24h, 7d or an epoch")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--profile", metavar="NAME", help="profile (default: the default one)")
    stats = history_cmds.add_parser("stats", help="size and contents of the database")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    prune_cmd = history_cmds.add_parser("prune", help="downsample and expire old data now")
    prune_cmd.add_argument("--vacuum", action="store_true", help="also shrink the file")

    task_log = commands.add_parser("task-log", help="one task's log")
    _connection_flags(task_log)
    task_log.add_argument("upid", metavar="UPID", help="the task id")
    task_log.add_argument("--follow", action="store_true", help="tail until the task ends")

    ask = commands.add_parser(
        "ask",
        help="ask the troubleshooting assistant; the answer streams to stdout",
        description="Ask the configured OpenAI-compatible model about a guest, node or task"
        " (or the cluster). Argus sends what the token may see about the selection: status,"
        " config summary, recent tasks and the failed task's log tail, cluster and HA status,"
        " the local utilisation history, and the node's syslog tail with Sys.Syslog. Secrets"
        " and password- or key-like values are redacted first; --show-context prints exactly"
        " what is sent. The assistant never acts.",
    )
    _connection_flags(ask)
    target = ask.add_mutually_exclusive_group()
    target.add_argument("--vmid", type=int, metavar="N", help="about this guest")
    target.add_argument("--node", metavar="NAME", help="about this node")
    target.add_argument("--task", metavar="UPID", help="about this task")
    ask.add_argument(
        "--show-context", action="store_true", help="print the context that is sent, then ask"
    )
    ask.add_argument(
        "--context-only", action="store_true", help="print the context and send nothing"
    )
    ask.add_argument("--llm-base-url", metavar="URL", help="override ARGUS_LLM_BASE_URL")
    ask.add_argument("--llm-model", metavar="NAME", help="override ARGUS_LLM_MODEL")
    ask.add_argument(
        "--no-history", action="store_true", help="do not journal this exchange locally"
    )
    ask.add_argument("question", nargs="+", help="the question (quote it)")

    llm_key = commands.add_parser(
        "llm-key",
        help="store the assistant's API key in the OS keyring",
        description="Store (or with --delete remove) the API key of the assistant's model in"
        " the OS keyring, for a profile (default: ARGUS_PROFILE or the default profile)."
        " ARGUS_LLM_API_KEY and OPENAI_API_KEY take precedence over it. Local servers"
        " (Ollama, llama.cpp, vLLM) need no key.",
    )
    llm_key.add_argument("--profile", metavar="NAME", help="profile the key belongs to")
    key_source = llm_key.add_mutually_exclusive_group()
    key_source.add_argument("--stdin", action="store_true", help="read the key from stdin")
    key_source.add_argument("--delete", action="store_true", help="remove the stored key")
    return parser


def _fail(message: str, code: int) -> int:
    print(f"argus: {message}", file=sys.stderr)
    return code


# -- composition ------------------------------------------------------------------------

_loaded: list[Any] = []
_announce = [True]


def _load_config() -> Any:
    """config.toml, read once per run; each unknown setting is one warning line on
    stderr (the TUI shows them as notifications instead)."""
    from argus_tui.config import Config

    if not _loaded:
        _loaded.append(Config.load())
        if _announce[0]:
            for warning in _loaded[0].warnings:
                print(f"argus: warning: {warning}", file=sys.stderr)
    return _loaded[0]


def _secret_store() -> Any:
    from argus_tui.secrets import SecretStore

    return SecretStore()


def _resolve(args: argparse.Namespace) -> Any:
    from argus_tui.config import Flags, resolve
    from argus_tui.secrets import token_account

    flags = Flags(
        profile=getattr(args, "profile", None),
        host=getattr(args, "host", None),
        token_id=getattr(args, "token_id", None),
        fingerprint=getattr(args, "fingerprint", None),
        ca_file=getattr(args, "ca_file", None),
        insecure=bool(getattr(args, "insecure", False)),
    )
    store = _secret_store()
    return resolve(
        flags,
        os.environ,
        Path.cwd(),
        _load_config(),
        lambda profile: store.get(token_account(profile)),
    )


def _llm_settings(args: argparse.Namespace, profile: str | None, *, lenient: bool = False) -> Any:
    """The assistant's model settings (None while not configured), by the usual precedence.

    `lenient`: a config.toml that cannot be read counts as empty (for the demo).
    """
    from argus_tui.config import Config, LlmFlags, resolve_llm
    from argus_tui.secrets import llm_account

    try:
        config = _load_config()
    except ConfigError:
        if not lenient:
            raise
        config = Config()
    store = _secret_store()
    flags = LlmFlags(getattr(args, "llm_base_url", None), getattr(args, "llm_model", None))
    return resolve_llm(
        flags,
        os.environ,
        Path.cwd(),
        config,
        lambda name: store.get(llm_account(name)),
        profile,
    )


def _client(args: argparse.Namespace, *, quiet: bool = False) -> tuple[Any, Any]:
    from argus_tui.pve.client import PveClient

    resolved = _resolve(args)
    if resolved.settings.tls.mode == "insecure" and not quiet:
        print(
            f"argus: warning: TLS verification is OFF for {resolved.settings.address}",
            file=sys.stderr,
        )
    return PveClient(resolved.settings), resolved


# -- commands ---------------------------------------------------------------------------


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
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        print("\n".join(lines), flush=True)  # after the handlers: Ctrl+C may come at once
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return EXIT_OK


def _read_secret(args: argparse.Namespace, stdin: TextIO) -> Any:
    from argus_tui.domain.secret import Secret

    if args.secret_stdin:
        value = stdin.readline().strip()
    elif stdin.isatty():
        value = getpass.getpass("Token secret (input hidden): ").strip()
    else:
        raise ConfigError(
            "no terminal to ask for the token secret", hint="pipe it in with --secret-stdin"
        )
    if not value:
        raise ConfigError("the token secret is empty")
    return Secret(value)


def run_login(args: argparse.Namespace) -> int:
    from argus_tui.config import Profile, parse_host, validate_profile_name
    from argus_tui.errors import TLSFailure
    from argus_tui.pve.client import ConnectionSettings, PveClient, TlsConfig
    from argus_tui.pve.mapping import privileges_from
    from argus_tui.pve.tls import fetch_fingerprint
    from argus_tui.secrets import token_account

    name = validate_profile_name(args.profile or "default")
    host, port = parse_host(args.host)
    if not args.token_id:
        raise ConfigError("--token-id is required", hint="e.g. --token-id 'argus@pve!tui'")
    config = _load_config()
    store = _secret_store()
    try:
        store.check()  # fail before asking for anything if there is nowhere to keep the secret
    except SecretStoreError as exc:
        raise SecretStoreError(
            exc.message,
            hint="login needs a keyring to keep the secret; without one, skip login and set"
            " ARGUS_HOST, ARGUS_TOKEN_ID, ARGUS_TOKEN_SECRET and ARGUS_FINGERPRINT in the"
            " environment (or a .env file): every command reads them. To use a keyring: "
            + _without_fallback(exc.hint),
        ) from None
    secret = _read_secret(args, sys.stdin)

    from argus_tui.config import _fingerprint

    if args.insecure:
        tls = TlsConfig("insecure")
    elif args.fingerprint:
        tls = TlsConfig("fingerprint", fingerprint=_fingerprint(args.fingerprint))
    elif args.ca_file:
        if not Path(args.ca_file).is_file():
            raise ConfigError(f"CA file {args.ca_file} does not exist")
        tls = TlsConfig("ca", ca_file=str(Path(args.ca_file).resolve()))
    else:
        tls = TlsConfig("system")

    def settings_for(tls_config: TlsConfig) -> ConnectionSettings:
        return ConnectionSettings(host, port, args.token_id, secret, tls_config)

    client = PveClient(settings_for(tls))
    try:
        version = client.version()
    except TLSFailure:
        if tls.mode != "system":
            raise
        fingerprint = fetch_fingerprint(host, port)
        print(
            f"The certificate of {host}:{port} is not trusted by this system"
            " (Proxmox uses a self-signed certificate by default).\n"
            f"  SHA-256 fingerprint: {fingerprint}\n"
            "Compare it with the one shown in the Proxmox web UI (Node > System >"
            " Certificates) or by 'pvenode cert info' on the node.",
            file=sys.stderr,
        )
        if not args.yes:
            if not sys.stdin.isatty() or args.secret_stdin:
                raise ConfigError(
                    "refusing to trust an unverified certificate without asking",
                    hint=f"pass --fingerprint {fingerprint} (after checking it) or --yes",
                ) from None
            answer = input("Trust and pin this certificate? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                return _fail("certificate not trusted; nothing was saved", EXIT_FAILED)
        tls = TlsConfig("fingerprint", fingerprint=fingerprint)
        client = PveClient(settings_for(tls))
        version = client.version()
    privileges = privileges_from(client.permissions())
    store.set(token_account(name), secret)
    previous = config.profiles.get(name)
    config.profiles[name] = Profile(
        name=name,
        host=host,
        port=port,
        token_id=args.token_id,
        tls=tls.mode,
        fingerprint=tls.fingerprint,
        ca_file=tls.ca_file,
        read_only=args.read_only,
        colour=args.colour or "",
        llm_base_url=previous.llm_base_url if previous else "",
        llm_model=previous.llm_model if previous else "",
        llm_timeout=previous.llm_timeout if previous else None,
    )
    if config.default_name() is None or config.default is None:
        config.default = config.default or name
    config.save()
    print(
        f"Logged in to {host}:{port} (Proxmox VE {version.get('version', '?')}) as"
        f" {args.token_id}; profile '{name}' saved in {config.path}, secret stored in the"
        f" keyring ({store.describe()}). TLS: {tls.describe()}."
    )
    if privileges.empty:
        print(
            "Note: this token holds no privileges yet; run 'argus doctor' to see why and how"
            " to grant them.",
            file=sys.stderr,
        )
    return EXIT_OK


def run_logout(args: argparse.Namespace) -> int:
    from argus_tui.config import validate_profile_name
    from argus_tui.secrets import llm_account, token_account

    config = _load_config()
    name = args.profile or config.default_name()
    if name is None:
        raise ConfigError("which profile?", hint="pass --profile NAME (see 'argus profiles')")
    validate_profile_name(name)
    if name not in config.profiles:
        raise ConfigError(f"no profile named {name!r}")
    store = _secret_store()
    removed_secret = store.delete(token_account(name))
    store.delete(llm_account(name))
    del config.profiles[name]
    if config.default == name:
        config.default = None
    config.save()
    note = "and its stored secret" if removed_secret else "(no stored secret was found)"
    print(f"Removed profile '{name}' {note}.")
    return EXIT_OK


def run_profiles(args: argparse.Namespace) -> int:

    config = _load_config()
    default = config.default_name()
    rows = [
        {
            "name": p.name,
            "default": p.name == default,
            "host": f"{p.host}:{p.port}",
            "token_id": p.token_id,
            "tls": p.tls,
            "read_only": p.read_only,
            "colour": p.colour or None,
        }
        for p in sorted(config.profiles.values(), key=lambda p: p.name)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("No profiles yet; create one with 'argus login'.")
        return EXIT_OK
    for row in rows:
        flags = [str(row["tls"])] + (["read-only"] if row["read_only"] else [])
        marker = "*" if row["default"] else " "
        print(
            f"{marker} {row['name']:<16} {row['host']:<28} {row['token_id']:<28} {', '.join(flags)}"
        )
    return EXIT_OK


def run_doctor(args: argparse.Namespace) -> int:
    from argus_tui.services import doctor

    client, resolved = _client(args)
    report = doctor.run(client)
    try:
        llm = _llm_settings(args, resolved.profile)
        assistant = llm.describe() if llm is not None else "not configured"
        if llm is not None and llm.key_problem:
            assistant += f"; {llm.key_problem}"
    except ArgusError as exc:
        assistant = f"settings unusable: {exc}"
    if args.json:
        data = report.to_json()
        data["profile"] = resolved.profile
        data["secret_source"] = resolved.secret_source
        data["assistant"] = assistant
        print(json.dumps(data, indent=2))
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
            print(line)
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


def run_status(args: argparse.Namespace) -> int:
    from argus_tui.domain.format import bytes_, percent
    from argus_tui.domain.permissions import allowed_actions
    from argus_tui.domain.text import printable
    from argus_tui.services.snapshot import collect, snapshot_json

    client, resolved = _client(args)
    snapshot = collect(client)
    store = None if args.no_history else _history_store()
    if store is not None:
        from argus_tui.store.db import StoreError

        try:
            store.record_snapshot(snapshot, resolved.profile or "default")
            for warning in store.take_warnings():
                print(f"argus: warning: {warning}", file=sys.stderr)
            store.close()
        except StoreError as exc:
            print(f"argus: warning: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps(snapshot_json(snapshot, read_only=resolved.read_only), indent=2))
        return EXIT_OK
    cluster = snapshot.cluster
    quorum = {True: "quorate", False: "NOT QUORATE", None: "quorum unknown"}[cluster.quorate]
    print(
        f"Cluster {printable(cluster.name) or '(standalone)'}: {quorum},"
        f" Proxmox VE {cluster.version or '?'}"
    )
    print(f"{'NODE':<16} {'STATUS':<8} {'CPU':>5} {'MEM':>16} {'UPTIME':>9}")
    for node in snapshot.nodes:
        mem = f"{bytes_(node.mem)}/{bytes_(node.maxmem)}"
        uptime = "-"
        if node.uptime is not None:
            uptime = f"{node.uptime // 86400}d{node.uptime % 86400 // 3600}h"
        cpu = percent(node.cpu)
        print(f"{printable(node.name):<16} {node.status:<8} {cpu:>5} {mem:>16} {uptime:>9}")
    print()
    header = ("VMID", "NAME", "TYPE", "NODE", "STATUS", "CPU", "MEM")
    print("{:>6} {:<24} {:<4} {:<12} {:<9} {:>5} {:>16}  ACTIONS".format(*header))
    for guest in snapshot.guests:
        mem = f"{bytes_(guest.mem)}/{bytes_(guest.maxmem)}"
        actions = (
            "" if resolved.read_only else ",".join(allowed_actions(guest, snapshot.privileges))
        )
        name = printable(guest.label) + (" (template)" if guest.template else "")
        print(
            f"{guest.vmid:>6} {name:<24} {guest.type:<4} {printable(guest.node):<12}"
            f" {printable(guest.status):<9} {percent(guest.cpu):>5} {mem:>16}  {actions}"
        )
    for warning in snapshot.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def run_tasks(args: argparse.Namespace) -> int:
    from argus_tui.domain.text import printable
    from argus_tui.services.tasks import recent_tasks, task_json

    client, _ = _client(args)
    tasks, warnings = recent_tasks(client, failed_only=args.failed, limit=args.limit)
    if args.json:
        print(json.dumps([task_json(t) for t in tasks], indent=2))
    else:
        print(
            f"{'STARTED':<19} {'NODE':<10} {'TYPE':<12} {'ID':<8} {'USER':<24} {'STATUS':<24}"
            " UPID (for task-log)"
        )
        for task in tasks:
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(task.starttime))
            status = "running" if task.running else printable(task.status or "")
            print(
                f"{started:<19} {printable(task.node):<10} {printable(task.type):<12}"
                f" {printable(task.id):<8} {printable(task.user):<24} {status:<24}"
                f" {printable(task.upid)}"
            )
        if not tasks:
            print("(no tasks)" if not args.failed else "(no failed tasks)")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def run_task_log(args: argparse.Namespace) -> int:
    from argus_tui.domain.text import printable
    from argus_tui.domain.upid import UPID, UPIDError
    from argus_tui.services.tasks import follow_log

    try:
        upid = UPID.parse(args.upid)
    except UPIDError as exc:
        raise ConfigError(str(exc), hint="copy the UPID from 'argus tasks --json'") from None
    client, _ = _client(args)

    def emit(line: str) -> None:
        print(printable(line), flush=True)

    final = follow_log(client, upid, emit, follow=args.follow)
    if final is not None and final != "OK" and not final.startswith("WARNINGS"):
        return EXIT_FAILED
    return EXIT_OK


def _session_for_profile(name: str) -> Any:
    """`:profile NAME` in the TUI: the same resolution as `argus --profile NAME`."""
    from argus_tui.services.session import Session

    args = argparse.Namespace(profile=name)
    client, resolved = _client(args, quiet=True)
    llm, problem = _tui_llm_settings(args, resolved.profile)
    client.version()  # fail here, with a message, rather than on the first refresh
    return Session(
        client,
        profile=resolved.profile,
        read_only=resolved.read_only,
        colour=resolved.colour,
        insecure=resolved.settings.tls.mode == "insecure",
        history=_history_store(),
        llm=llm,
        llm_problem=problem,
    )


def _tui_llm_settings(
    args: argparse.Namespace, profile: str | None, *, lenient: bool = False
) -> tuple[Any, str]:
    """The assistant's settings for the TUI: a bad one turns the assistant off (its pane
    says why) instead of keeping the cluster view from starting."""
    try:
        return _llm_settings(args, profile, lenient=lenient), ""
    except ConfigError as exc:
        return None, str(exc)


def run_tui(args: argparse.Namespace) -> int:
    """`argus` and `argus --demo`: build a session, run the app until the user quits."""
    from argus_tui.config import UiSettings
    from argus_tui.services.session import Session

    if args.interval is not None and args.interval < 1:
        raise ConfigError("--interval must be at least 1 second")
    warnings: list[str] = []
    _announce[0] = False
    try:
        config = _load_config()
        ui, warnings = config.ui, config.warnings
    except ConfigError as exc:
        if not args.demo:
            raise
        ui = UiSettings()  # the demo runs even with a broken config file, and says so
        warnings = [f"{exc}; the demo runs with default settings"]
    interval = args.interval if args.interval is not None else ui.interval
    sim = None
    demo_dir: str | None = None
    if args.demo:
        from argus_tui.domain.secret import Secret
        from argus_tui.pve.client import ConnectionSettings, PveClient, TlsConfig
        from argus_tui.sim.demo import demo_scenario
        from argus_tui.sim.server import Simulator

        sim = Simulator(demo_scenario(), port=0).start()
        client = PveClient(
            ConnectionSettings(
                "127.0.0.1",
                sim.port,
                sim.token_id,
                Secret(sim.token_secret),
                TlsConfig("fingerprint", fingerprint=sim.fingerprint),
            )
        )
        import tempfile

        from argus_tui.store.db import HistoryStore

        # The demo never touches the real history; its own goes when the demo ends.
        demo_dir = tempfile.mkdtemp(prefix="argus-demo-")
        session = Session(
            client,
            profile="demo",
            demo=True,
            history=HistoryStore(Path(demo_dir) / "history.db"),
        )
        session.llm, session.llm_problem = _tui_llm_settings(args, args.profile, lenient=True)
    else:
        from argus_tui.store.db import HistoryStore

        client, resolved = _client(args)
        session = Session(
            client,
            profile=resolved.profile,
            read_only=resolved.read_only,
            colour=resolved.colour,
            insecure=resolved.settings.tls.mode == "insecure",
            history=_history_store(),
        )
        session.llm, session.llm_problem = _tui_llm_settings(args, resolved.profile)
    try:
        from argus_tui.ui.app import ArgusApp

        app = ArgusApp(
            session,
            interval=interval,
            confirm=ui.confirm,
            keymap=ui.keymap,
            open_profile=None if args.demo else _session_for_profile,
            warnings=warnings,
        )
        code = app.run()
    finally:
        if sim is not None:
            sim.stop()
        if demo_dir is not None:
            if session.history is not None:
                session.history.close()
            shutil.rmtree(demo_dir, ignore_errors=True)
    return code or EXIT_OK


def run_power(args: argparse.Namespace) -> int:
    from argus_tui.domain.permissions import ACTIONS
    from argus_tui.domain.text import printable
    from argus_tui.errors import OperationFailed, PermissionDenied
    from argus_tui.services.power import explain
    from argus_tui.services.session import Session
    from argus_tui.services.snapshot import collect

    client, resolved = _client(args)
    session = Session(
        client, profile=resolved.profile, read_only=resolved.read_only, history=_history_store()
    )
    snapshot = collect(client)
    guest = next((g for g in snapshot.guests if g.vmid == args.vmid), None)
    if guest is None:
        raise OperationFailed(
            f"no guest {args.vmid} visible to token {client.settings.token_id}",
            hint="check the VMID; without VM.Audit on /vms/ID a guest is invisible",
        )
    item = explain(guest, args.action, snapshot.privileges, read_only=resolved.read_only)
    if not item.runs:
        reason = item.reason.removeprefix("skipped: ")
        if "not permitted" in reason or "read-only" in reason:
            raise PermissionDenied(f"cannot {args.action} {guest.label} ({guest.vmid}): {reason}")
        raise OperationFailed(f"cannot {args.action} {guest.label} ({guest.vmid}): {reason}")
    label = f"{printable(guest.label)} ({guest.vmid}) on {printable(guest.node)}"
    if ACTIONS[args.action].confirm and not args.yes:
        if not sys.stdin.isatty():
            raise ConfigError(f"{args.action} needs confirmation", hint="pass --yes")
        answer = input(f"{ACTIONS[args.action].label} {label}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            return _fail("cancelled", EXIT_FAILED)
    upid = session.power.start(guest, args.action)
    print(upid)
    if not args.wait:
        session.power.journal_sent(guest, args.action, upid)
        _journal_warnings(session.power.take_journal_errors())
        return EXIT_OK
    outcome = session.power.follow(guest, args.action, upid)
    _journal_warnings(session.power.take_journal_errors())
    if outcome.ok:
        print(f"{ACTIONS[args.action].label} {label}: OK" + (
            f" ({outcome.note})" if outcome.note else ""
        ))  # fmt: skip
        return EXIT_OK
    return _fail(f"{args.action} {label} failed: {printable(outcome.status)}", EXIT_FAILED)


def _journal_warnings(errors: list[str]) -> None:
    for error in errors:
        print(f"argus: warning: the action was not journaled: {error}", file=sys.stderr)


def _history_store(*, always: bool = False) -> HistoryStore | None:
    """The history database with the `[history]` settings; None when recording is off
    (`enabled = false`), unless `always` (the history commands read it regardless)."""
    from argus_tui.store.db import HistoryStore, Retention

    settings = _load_config().history
    if not settings.enabled and not always:
        return None
    retention = Retention(
        raw=settings.raw, mid=settings.mid, long=settings.long, journal=settings.journal
    )
    return HistoryStore(sample_interval=settings.sample_interval, retention=retention)


def _without_fallback(hint: str) -> str:
    """A keyring hint without its "or set ARGUS_TOKEN_SECRET" advice (login cannot use it)."""
    from argus_tui.secrets import FALLBACK_ENV_VAR

    for phrase in (
        f"set {FALLBACK_ENV_VAR} for this session, or ",
        f", or set {FALLBACK_ENV_VAR} for this session",
        f"; or set {FALLBACK_ENV_VAR} for this session",
    ):
        hint = hint.replace(phrase, "")
    return hint


def run_history(args: argparse.Namespace) -> int:
    from argus_tui.services import history

    store = _history_store(always=True)
    assert store is not None
    try:
        if args.history_command == "export":
            profile = args.profile or os.environ.get("ARGUS_PROFILE")
            if profile is None:
                profile = _load_config().default_name() or "default"
            since = history.parse_since(args.since)
            sys.stdout.write(history.export_rows(store, profile, since, args.format))
        elif args.history_command == "stats":
            data = history.stats_text(store)
            print(json.dumps(data, indent=2) if args.json else history.render_stats(data))
        else:
            print(history.render_prune(history.prune(store, vacuum=args.vacuum)))
    finally:
        store.close()
    return EXIT_OK


def run_ask(args: argparse.Namespace) -> int:
    from argus_tui.domain.text import printable
    from argus_tui.domain.upid import UPID, UPIDError
    from argus_tui.errors import LlmError, OperationFailed
    from argus_tui.llm.settings import not_configured
    from argus_tui.pve.mapping import MappingError, task_from
    from argus_tui.services.assistant import Assistant
    from argus_tui.services.session import Session
    from argus_tui.services.snapshot import collect

    question = " ".join(args.question).strip()
    if not question:
        raise ConfigError(
            "the question is empty", hint='e.g. argus ask --vmid 105 "why won\'t it start?"'
        )
    upid = None
    if args.task is not None:
        try:
            upid = UPID.parse(args.task)
        except UPIDError as exc:
            raise ConfigError(str(exc), hint="copy the UPID from 'argus tasks --json'") from None
    client, resolved = _client(args)
    llm = _llm_settings(args, resolved.profile)
    if llm is None and not args.context_only:
        raise not_configured()
    history = None if args.no_history else _history_store()
    session = Session(
        client, profile=resolved.profile, read_only=resolved.read_only, history=history, llm=llm
    )
    snapshot = collect(client)
    guest = node = task = None
    if args.vmid is not None:
        guest = next((g for g in snapshot.guests if g.vmid == args.vmid), None)
        if guest is None:
            raise OperationFailed(
                f"no guest {args.vmid} visible to token {client.settings.token_id}",
                hint="check the VMID; without VM.Audit on /vms/ID a guest is invisible",
            )
    elif args.node is not None:
        node = next((n for n in snapshot.nodes if n.name == args.node), None)
        if node is None:
            known = ", ".join(printable(n.name) for n in snapshot.nodes) or "none"
            raise OperationFailed(f"no node {args.node!r} in the cluster (nodes: {known})")
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
            print(f"argus: warning: {warning}", file=sys.stderr)
        if history is not None:
            history.close()
    if not answer.text.endswith("\n"):
        print()
    return EXIT_OK


def run_llm_key(args: argparse.Namespace) -> int:
    from argus_tui.config import llm_profile_name
    from argus_tui.domain.secret import Secret
    from argus_tui.secrets import llm_account

    name = llm_profile_name(args.profile, os.environ, Path.cwd(), _load_config())
    store = _secret_store()
    if args.delete:
        removed = store.delete(llm_account(name))
        print(
            f"Removed the assistant's API key of profile '{name}' from the keyring."
            if removed
            else f"No assistant API key was stored for profile '{name}'."
        )
        return EXIT_OK
    store.check()  # fail before asking if there is nowhere to keep the key
    if args.stdin:
        value = sys.stdin.readline().strip()
    elif sys.stdin.isatty():
        value = getpass.getpass("API key of the assistant's model (input hidden): ").strip()
    else:
        raise ConfigError("no terminal to ask for the key", hint="pipe it in with --stdin")
    if not value:
        raise ConfigError("the key is empty")
    store.set(llm_account(name), Secret(value))
    print(
        f"Stored the assistant's API key for profile '{name}' in the keyring"
        f" ({store.describe()}). ARGUS_LLM_API_KEY and OPENAI_API_KEY, when set, are used"
        " instead."
    )
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "sim": run_sim,
    "login": run_login,
    "logout": run_logout,
    "profiles": run_profiles,
    "doctor": run_doctor,
    "status": run_status,
    "tasks": run_tasks,
    "task-log": run_task_log,
    "power": run_power,
    "history": run_history,
    "ask": run_ask,
    "llm-key": run_llm_key,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = COMMANDS.get(args.command) if args.command else run_tui
    if command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return command(args)
    except ArgusError as exc:
        return _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_FAILED)
    except BrokenPipeError:
        return EXIT_OK
