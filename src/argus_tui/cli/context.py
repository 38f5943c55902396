"""The command line's composition root: settings read once, objects built one way.

Each run has one CliContext. It reads config.toml once (and says each unknown setting on
stderr), resolves the connection by precedence, and builds the client, the history store
and the Session the same way for every command and for the TUI.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from argus_tui.cli.output import note, warn
from argus_tui.config import (
    Config,
    Flags,
    LlmFlags,
    Resolved,
    TeamHistory,
    resolve,
    resolve_history,
    resolve_llm,
)
from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.domain.secret import Secret
from argus_tui.errors import ArgusError, ConfigError, OperationFailed, SecretStoreError
from argus_tui.llm.settings import LlmSettings
from argus_tui.pve.settings import ConnectionSettings
from argus_tui.secrets import SecretStore, history_account, llm_account, token_account
from argus_tui.store import (
    HistoryStore,
    Retention,
    Spooling,
    open_history,
    secure_own_folders,
)

if TYPE_CHECKING:
    from argus_tui.pve.client import PveClient
    from argus_tui.services.session import Session


class CliContext:
    """What one `argus` run knows: its flags, config.toml, the keyring, the connection.

    Everything is read or built on first use and kept. The client, the history store and
    the Session are imported where they are built: `argus profiles` or `argus logout` must
    not pay for requests (the history backend is loaded by open_history itself).
    """

    def __init__(
        self,
        flags: Flags,
        llm_flags: LlmFlags | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        quiet: bool = False,
    ) -> None:
        self.flags = flags
        self.llm_flags = llm_flags or LlmFlags()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.cwd = Path.cwd() if cwd is None else cwd
        #: Nothing on stderr (a profile opened while the TUI owns the terminal).
        self.quiet = quiet
        self._hold_warnings = quiet
        self._config: Config | None = None
        self._config_error: ConfigError | None = None
        self._secrets: SecretStore | None = None
        self._resolved: Resolved | None = None
        self._client: PveClient | None = None
        self._demo_history: Path | None = None
        self._team: TeamHistory | None = None
        self._team_known = False  # _team resolved (None then means the local history)
        self._stores: list[HistoryStore] = []  # opened by this run, reported on at the end
        self._data_secured = False
        self._held_notices: list[str] = []  # file-mode notices left to the caller

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        """Subcommands leave absent flags unset, so each is read with a default."""
        flags = Flags(
            profile=getattr(args, "profile", None),
            host=getattr(args, "host", None),
            token_id=getattr(args, "token_id", None),
            fingerprint=getattr(args, "fingerprint", None),
            ca_file=getattr(args, "ca_file", None),
            insecure=bool(getattr(args, "insecure", False)),
        )
        llm_flags = LlmFlags(getattr(args, "llm_base_url", None), getattr(args, "llm_model", None))
        return cls(flags, llm_flags)

    def for_profile(self, name: str) -> CliContext:
        """`:profile NAME` in the TUI: the same resolution as `argus --profile NAME`, with
        config.toml read again (a profile saved since start-up is found) and nothing said
        on stderr."""
        return CliContext(Flags(profile=name), environ=self.environ, cwd=self.cwd, quiet=True)

    # -- settings ---------------------------------------------------------------------------

    def hold_config_warnings(self) -> None:
        """Leave config.toml's warnings to the caller (the TUI shows them as notifications)."""
        self._hold_warnings = True

    @property
    def config(self) -> Config:
        """config.toml, read on first use; each unknown setting is one line on stderr."""
        if self._config_error is not None:
            raise self._config_error
        if self._config is None:
            try:
                self._config = Config.load()
            except ConfigError as exc:
                self._config_error = exc
                raise
            if not self._hold_warnings:
                for warning in self._config.warnings:
                    warn(warning)
        return self._config

    def secure_data(self) -> None:
        """Once per run, before anything is written there: the data and cache folders and
        everything in them made private to the user (on a shared host others must not
        read guest names or the journal). Each change is one line on stderr, or held for
        the TUI like config.toml's warnings. The demo writes only a folder of its own."""
        if self._data_secured or self._demo_history is not None:
            return
        self._data_secured = True
        for notice in secure_own_folders():
            if self._hold_warnings:
                self._held_notices.append(str(notice))
            elif notice.problem:
                warn(str(notice))
            else:
                note(str(notice))

    def take_held_notices(self) -> list[str]:
        """The file-mode notices held for the caller, once."""
        out, self._held_notices = self._held_notices, []
        return out

    @property
    def secrets(self) -> SecretStore:
        if self._secrets is None:
            self._secrets = SecretStore()
        return self._secrets

    @property
    def resolved(self) -> Resolved:
        """The connection by precedence: flags, environment, .env, the profile."""
        if self._resolved is None:
            self._resolved = resolve(
                self.flags, self.environ, self.cwd, self.config, self._token_secret
            )
        return self._resolved

    def llm_settings(self, profile: str | None, *, lenient: bool = False) -> LlmSettings | None:
        """The assistant's model settings (None while not configured), by the usual
        precedence. `lenient`: a config.toml that cannot be read counts as empty (the demo)."""
        try:
            config = self.config
        except ConfigError:
            if not lenient:
                raise
            config = Config()
        return resolve_llm(self.llm_flags, self.environ, self.cwd, config, self._llm_key, profile)

    def use_demo(self, settings: ConnectionSettings, history: Path) -> None:
        """Connect to the built-in simulator instead, with a history of its own."""
        self._resolved = Resolved(settings=settings, profile="demo")
        self._demo_history = history

    # -- objects ----------------------------------------------------------------------------

    def client(self) -> PveClient:
        """The API client for the resolved connection; says so when TLS is not verified."""
        if self._client is None:
            from argus_tui.pve.client import PveClient  # loads requests

            resolved = self.resolved
            if resolved.settings.tls.mode == "insecure" and not self.quiet:
                warn(f"TLS verification is OFF for {resolved.settings.address}")
            self._client = PveClient(resolved.settings)
        return self._client

    def history(self) -> HistoryStore | None:
        """The history database to record into; None when `[history] enabled = false`."""
        if self._demo_history is None and not self.config.history.enabled:
            return None
        return self.history_store()

    @property
    def team_history(self) -> TeamHistory | None:
        """The team history in force (ARGUS_HISTORY_URL, .env, `[history] url`), or None
        for the local one; the demo always has its own local one."""
        if self._demo_history is not None:
            return None
        if not self._team_known:
            self._team = resolve_history(self.environ, self.cwd, self.config)
            self._team_known = True
        return self._team

    def history_store(self) -> HistoryStore:
        """The history database with the `[history]` settings, recording on or off (the
        history commands read it regardless): the team's when a URL is set, else the
        local file."""
        if self._demo_history is not None:
            return open_history(self._demo_history)
        team = self.team_history
        if team is None:
            return self.open_history()
        return self.open_history(team)

    def open_history(self, team: TeamHistory | None = None, *, spool: bool = True) -> HistoryStore:
        """A history with the `[history]` settings: `team`'s database (keeping writes
        locally while it is away, unless not `spool`), or the local file."""
        self.secure_data()
        settings = self.config.history
        retention = Retention(
            raw=settings.raw, mid=settings.mid, long=settings.long, journal=settings.journal
        )
        if team is None:
            return open_history(sample_interval=settings.sample_interval, retention=retention)
        store = open_history(
            url=team.url,
            password=self.history_password(team),
            name=team.name,
            spool=spool,
            sample_interval=settings.sample_interval,
            retention=retention,
        )
        if spool:
            self._stores.append(store)
        return store

    def history_password(self, team: TeamHistory) -> Secret | None:
        """The database password `argus history login` stored, unless PGPASSWORD is set
        (libpq's own mechanisms then apply). A locked or missing keyring is no password:
        ~/.pgpass, a service file or a client certificate may still do."""
        if self.environ.get("PGPASSWORD"):
            return None
        try:
            return self.secrets.get(history_account(team.identity))
        except SecretStoreError:
            return None

    def finish(self) -> None:
        """The run is over: each team history opened is closed (its kept refreshes saved
        for the next run), and when its database was unreachable, one line says what was
        kept. Never raises: the command's own outcome stands."""
        said = False
        for store in self._stores:
            try:
                store.close()
                warnings = store.take_warnings()
            except ArgusError as exc:
                warnings = [str(exc)]
            if not self.quiet:
                for warning in warnings:
                    warn(warning)
            if said or self.quiet or not isinstance(store, Spooling):
                continue
            backlog = store.backlog()
            if backlog.reachable is False and backlog.kept_here:
                note(unreachable_line(backlog.name, backlog.reason, backlog.kept_here))
                said = True
        self._stores.clear()

    def session(
        self,
        *,
        record: bool = True,
        llm: LlmSettings | None = None,
        llm_problem: str = "",
        defer_history: bool = False,
    ) -> Session:
        """The session every command and the TUI work through. `record`: with the local
        history (when it is enabled). `defer_history`: the session opens it itself, after
        its first snapshot is shown (the TUI's start does not wait for the database)."""
        from argus_tui.services.session import Session  # loads the client and the store

        self.secure_data()
        client = self.client()
        resolved = self.resolved
        deferred = record and defer_history
        return Session(
            client,
            profile=resolved.profile,
            read_only=resolved.read_only,
            colour=resolved.colour,
            demo=self._demo_history is not None,
            insecure=resolved.settings.tls.mode == "insecure",
            history=self.history() if record and not deferred else None,
            open_history=self.history if deferred else None,
            llm=llm,
            llm_problem=llm_problem,
        )

    def find_guest(self, snapshot: ClusterSnapshot, vmid: int) -> Guest:
        """The guest with `vmid` in the snapshot, or why it is not there."""
        guest = next((g for g in snapshot.guests if g.vmid == vmid), None)
        if guest is None:
            raise OperationFailed(
                f"no guest {vmid} visible to token {self.resolved.settings.token_id}",
                hint="check the VMID; without VM.Audit on /vms/ID a guest is invisible",
            )
        return guest

    def _token_secret(self, profile: str) -> Secret | None:
        return self.secrets.get(token_account(profile))

    def _llm_key(self, profile: str) -> Secret | None:
        return self.secrets.get(llm_account(profile))


_KEPT_WORDS = {
    "action": "the action",
    "exchange": "the assistant exchange",
    "tasks": "the recent tasks",
    "snapshot": "the snapshot",
}


def unreachable_line(name: str, reason: str, kept: tuple[str, ...]) -> str:
    """One line on what a team history away has kept: "team history db:5432/argus
    unreachable (connection refused); the action was kept locally and will be sent when
    it is back"."""
    words = [_KEPT_WORDS.get(k, k) for k in kept]
    what = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    verb = "was" if len(words) == 1 else "were"
    because = f" ({reason})" if reason else ""
    return (
        f"team history {name} unreachable{because}; {what} {verb} kept locally and will"
        " be sent when it is back"
    )
