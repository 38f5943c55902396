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

from argus_tui.cli.output import warn
from argus_tui.config import Config, Flags, LlmFlags, Resolved, resolve, resolve_llm
from argus_tui.domain.models import ClusterSnapshot, Guest
from argus_tui.domain.secret import Secret
from argus_tui.errors import ConfigError, OperationFailed
from argus_tui.llm.settings import LlmSettings
from argus_tui.pve.settings import ConnectionSettings
from argus_tui.secrets import SecretStore, llm_account, token_account
from argus_tui.store import HistoryStore, Retention, open_history

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

    def history_store(self) -> HistoryStore:
        """The history database with the `[history]` settings, recording on or off (the
        history commands read it regardless)."""
        if self._demo_history is not None:
            return open_history(self._demo_history)
        settings = self.config.history
        retention = Retention(
            raw=settings.raw, mid=settings.mid, long=settings.long, journal=settings.journal
        )
        return open_history(sample_interval=settings.sample_interval, retention=retention)

    def session(
        self, *, record: bool = True, llm: LlmSettings | None = None, llm_problem: str = ""
    ) -> Session:
        """The session every command and the TUI work through. `record`: with the local
        history (when it is enabled)."""
        from argus_tui.services.session import Session  # loads the client and the store

        client = self.client()
        resolved = self.resolved
        return Session(
            client,
            profile=resolved.profile,
            read_only=resolved.read_only,
            colour=resolved.colour,
            demo=self._demo_history is not None,
            insecure=resolved.settings.tls.mode == "insecure",
            history=self.history() if record else None,
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
