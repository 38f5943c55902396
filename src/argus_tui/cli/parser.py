"""The `argus` command line, every subcommand in one place.

The whole parser is built before any command runs, so it lives here rather than in the
command modules: building it from them would import every command's dependencies
(Textual, requests, openai) just to parse `argus profiles`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

from argus_tui import __version__
from argus_tui.config import COLOURS
from argus_tui.domain.operations import BACKUP_MODES
from argus_tui.domain.permissions import ACTION_ORDER
from argus_tui.domain.storage import CONTENT_TYPES
from argus_tui.domain.upid import UPID, UPIDError
from argus_tui.errors import EXIT_USAGE, ConfigError


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"argus: {message} (see 'argus --help')\n")


Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"


#: The top-level options that take a value (the word after them is not a command).
_VALUED = frozenset(
    {"--profile", "--host", "--token-id", "--fingerprint", "--ca-file", "--interval"}
)


def names_a_command(argv: Sequence[str]) -> bool:
    """Whether the command line may name a command (or asks for help): anything but
    top-level options. Only then is the whole parser needed; `argus` and `argus --demo`
    are parsed by the top-level part alone, which builds in a tenth of the time."""
    value_next = False
    for arg in argv:
        if value_next:
            value_next = False
        elif arg in ("-h", "--help") or not arg.startswith("-") or arg == "--":
            return True
        else:
            value_next = arg in _VALUED
    return False


def build_parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """The `argus` parser; without `commands`, its top-level options alone (see
    `names_a_command`)."""
    parser = _Parser(prog="argus", description="A keyboard-driven terminal UI for Proxmox VE.")
    parser.add_argument("--version", action="version", version=f"argus {__version__}")
    parser.add_argument(
        "--demo", action="store_true", help="open the TUI on a built-in simulated cluster"
    )
    _connection_flags(parser, top=True)
    parser.add_argument(
        "--interval", type=float, metavar="S", help="refresh interval (default 5 s)"
    )
    if not commands:
        parser.set_defaults(command=None)
        return parser
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (
        _sim,
        _profiles,
        _cluster,
        _operations,
        _maintenance,
        _console,
        _history,
        _task_log,
        _assistant,
    ):
        add(subparsers)
    return parser


def parse_upid(text: str) -> UPID:
    """A UPID as typed on the command line; a usage error that says where to find one."""
    try:
        return UPID.parse(text)
    except UPIDError as exc:
        raise ConfigError(str(exc), hint="copy the UPID from 'argus tasks --json'") from None


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


def _sim(commands: Commands) -> None:
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


def _profiles(commands: Commands) -> None:
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
        "--colour", choices=COLOURS, help="profile colour, so production looks different"
    )
    login.add_argument("--yes", action="store_true", help="trust the shown certificate")

    logout = commands.add_parser("logout", help="remove a profile and its stored secret")
    logout.add_argument("--profile", metavar="NAME", help="profile to remove")
    profiles = commands.add_parser("profiles", help="list profiles")
    profiles.add_argument("--json", action="store_true", help="machine-readable output")


def _cluster(commands: Commands) -> None:
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
    status.add_argument(
        "--ips",
        action="store_true",
        help="each running guest's addresses (one agent or interfaces call per guest)",
    )

    tasks = commands.add_parser("tasks", help="recent tasks")
    _connection_flags(tasks)
    tasks.add_argument("--failed", action="store_true", help="only failed tasks")
    tasks.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    tasks.add_argument("--json", action="store_true", help="machine-readable output")

    power = commands.add_parser(
        "power",
        help="start, shutdown, stop, reboot, reset, suspend, hibernate or resume a guest",
        description="Run a power action on a guest, with the same permission and state checks"
        " as the TUI. Stop, reset and hibernate ask for confirmation unless --yes.",
    )
    _connection_flags(power)
    power.add_argument("action", choices=ACTION_ORDER)
    power.add_argument("vmid", type=int, metavar="VMID")
    power.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    power.add_argument("--wait", action="store_true", help="follow the task to its end")


def _operations(commands: Commands) -> None:
    """Snapshots, backups and storages: each checked like `power` before it is sent."""
    snapshot = commands.add_parser(
        "snapshot",
        help="list, take, roll back or delete a guest's snapshots",
        description="A guest's snapshots, with the same permission and state checks as the"
        " TUI. Rollback and delete ask for confirmation unless --yes.",
    )
    snapshot_cmds = snapshot.add_subparsers(
        dest="snapshot_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    listing = snapshot_cmds.add_parser("list", help="the snapshot tree (VM.Audit)")
    _connection_flags(listing)
    listing.add_argument("vmid", type=int, metavar="VMID")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    create = snapshot_cmds.add_parser("create", help="take a snapshot (VM.Snapshot)")
    _connection_flags(create)
    create.add_argument("vmid", type=int, metavar="VMID")
    create.add_argument("name", metavar="NAME", help="a letter, then letters, digits, - or _")
    create.add_argument("--description", metavar="TEXT", default="", help="what it is for")
    create.add_argument("--vmstate", action="store_true", help="save the RAM too (running VMs)")
    create.add_argument("--wait", action="store_true", help="follow the task to its end")
    rollback = snapshot_cmds.add_parser(
        "rollback", help="roll back to a snapshot (VM.Snapshot or VM.Snapshot.Rollback)"
    )
    _connection_flags(rollback)
    rollback.add_argument("vmid", type=int, metavar="VMID")
    rollback.add_argument("name", metavar="NAME")
    rollback.add_argument(
        "--start", action="store_true", help="start the guest afterwards (VM.PowerMgmt)"
    )
    rollback.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rollback.add_argument("--wait", action="store_true", help="follow the task to its end")
    delete = snapshot_cmds.add_parser("delete", help="delete a snapshot (VM.Snapshot)")
    _connection_flags(delete)
    delete.add_argument("vmid", type=int, metavar="VMID")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument("--wait", action="store_true", help="follow the task to its end")

    backup = commands.add_parser(
        "backup",
        help="back up guests now (vzdump)",
        description="Back up guests now, one vzdump task per node. Needs VM.Backup on each"
        " guest and Datastore.AllocateSpace on the storage; without --storage the one"
        " backup storage the token may write to is used.",
    )
    _connection_flags(backup)
    backup.add_argument("vmids", type=int, nargs="+", metavar="VMID")
    backup.add_argument("--storage", metavar="ID", help="backup storage to write to")
    backup.add_argument(
        "--mode", choices=BACKUP_MODES, default="snapshot", help="default: snapshot"
    )
    backup.add_argument("--notes", metavar="TEXT", help="notes stored with the backup")
    backup.add_argument("--wait", action="store_true", help="follow the tasks to their end")

    storage = commands.add_parser(
        "storage",
        help="storages with their usage; 'storage content ID' lists one",
        description="Every storage per node with type, content, usage and state (from one"
        " /cluster/resources call); 'argus storage content ID' lists what one holds.",
    )
    _connection_flags(storage)
    storage.add_argument("--json", action="store_true", help="machine-readable output")
    storage_cmds = storage.add_subparsers(
        dest="storage_command", metavar="SUBCOMMAND", parser_class=_Parser
    )
    content = storage_cmds.add_parser(
        "content",
        help="what a storage holds (backups need VM.Backup on their guest to be listed)",
    )
    _connection_flags(content)
    content.add_argument("storage", metavar="STORAGE")
    content.add_argument("--content", choices=CONTENT_TYPES, help="only this kind of volume")
    content.add_argument("--vmid", type=int, metavar="N", help="only this guest's volumes")
    content.add_argument(
        "--node", metavar="NAME", help="the node to list a local storage on (default: first)"
    )
    content.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )


def _maintenance(commands: Commands) -> None:
    """Migration, evacuation, node power and stopping a task."""
    migrate = commands.add_parser(
        "migrate",
        help="move a guest to another node (VM.Migrate)",
        description="Migrate a guest, after the server's precondition check. A running VM"
        " moves only with --online, a running container only with --restart: Argus never"
        " picks a disruptive mode by itself.",
    )
    _connection_flags(migrate)
    migrate.add_argument("vmid", type=int, metavar="VMID")
    migrate.add_argument("target", metavar="TARGET", help="the node to move it to")
    mode = migrate.add_mutually_exclusive_group()
    mode.add_argument("--online", action="store_true", help="live-migrate a running VM")
    mode.add_argument(
        "--restart", action="store_true", help="shut a running container down, move, start it"
    )
    migrate.add_argument(
        "--with-local-disks", action="store_true", help="copy disks on local storage too"
    )
    migrate.add_argument("--wait", action="store_true", help="follow the task to its end")

    evacuate = commands.add_parser(
        "evacuate",
        help="move every running guest off a node, by free memory",
        description="Plan the evacuation of a node: its running guests spread over the other"
        " nodes by free memory, never overcommitting one; what cannot move is listed with"
        " the reason. Asks before running the plan unless --yes.",
    )
    _connection_flags(evacuate)
    evacuate.add_argument("node", metavar="NODE")
    evacuate.add_argument(
        "--to", metavar="NODE[,NODE...]", help="only these target nodes (default: all)"
    )
    evacuate.add_argument("--dry-run", action="store_true", help="print the plan, send nothing")
    evacuate.add_argument("--json", action="store_true", help="machine-readable plan")
    evacuate.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    evacuate.add_argument("--wait", action="store_true", help="follow every move to its end")

    node = commands.add_parser("node", help="reboot or shut down a node (Sys.PowerMgmt)")
    node_cmds = node.add_subparsers(
        dest="node_command", metavar="SUBCOMMAND", parser_class=_Parser, required=True
    )
    for command, text in (("reboot", "reboot a node"), ("shutdown", "shut a node down")):
        sub = node_cmds.add_parser(command, help=f"{text}; asks for the node's name unless --yes")
        _connection_flags(sub)
        sub.add_argument("node", metavar="NODE")
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    task_stop = commands.add_parser(
        "task-stop",
        help="stop a running task (its owner, or Sys.Modify on the node)",
    )
    _connection_flags(task_stop)
    task_stop.add_argument("upid", metavar="UPID", help="the task id")


def _console(commands: Commands) -> None:
    """A guest's console or a node's shell in this terminal."""
    console = commands.add_parser(
        "console",
        help="a guest's console in this terminal (VM.Console); ctrl+] returns",
        description="Open a container's console or a VM's serial console in this terminal,"
        " through the API token (termproxy). A VM needs a serial socket (qm set VMID"
        " --serial0 socket) and a getty on it. ctrl+] (or 'console.leave' in [ui.keymap])"
        " returns.",
    )
    _connection_flags(console)
    console.add_argument("vmid", type=int, metavar="VMID")
    console.add_argument(
        "--serial",
        choices=("serial0", "serial1", "serial2", "serial3"),
        help="a VM's serial port (default: the first serial socket)",
    )
    shell = commands.add_parser(
        "shell",
        help="a node's shell in this terminal (Sys.Console); ctrl+] returns",
        description="Open a node's shell in this terminal, through the API token. Proxmox"
        " logs in only root@pam itself: a token gets the node's Linux login prompt.",
    )
    _connection_flags(shell)
    shell.add_argument("node", metavar="NODE")


def _history(commands: Commands) -> None:
    history = commands.add_parser(
        "history",
        help="what the history holds (local, or the team's database)",
        description="The history Argus records: the local SQLite file, or the team's"
        " PostgreSQL database when [history] url or ARGUS_HISTORY_URL names one.",
    )
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
    login = history_cmds.add_parser(
        "login",
        help="store the team database's password in the OS keyring",
        description="Check the team history database's password and store it in the OS"
        " keyring, for the URL's user@host:port/dbname. Not needed when ~/.pgpass,"
        " PGPASSWORD, a service file or a client certificate already log you in.",
    )
    login.add_argument(
        "--url", metavar="URL", help="postgresql://USER@HOST:PORT/DB (default: the one set)"
    )
    login.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    logout = history_cmds.add_parser(
        "logout", help="remove the team database's password from the OS keyring"
    )
    logout.add_argument("--url", metavar="URL", help="default: the URL set")
    copy = history_cmds.add_parser(
        "copy",
        help="copy the local history into the team database",
        description="Copy everything the local SQLite history holds (every profile:"
        " samples at every resolution, changes, tasks, actions, assistant exchanges) into"
        " the team database. Rows already there are skipped, so it may be run again.",
    )
    copy.add_argument("--to", metavar="URL", required=True, help="postgresql://... to copy to")


def _task_log(commands: Commands) -> None:
    task_log = commands.add_parser("task-log", help="one task's log")
    _connection_flags(task_log)
    task_log.add_argument("upid", metavar="UPID", help="the task id")
    task_log.add_argument("--follow", action="store_true", help="tail until the task ends")


def _assistant(commands: Commands) -> None:
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
