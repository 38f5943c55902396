"""config.toml on disk: read and checked, and saved without losing what the user wrote.

Reading uses tomllib (its error messages point at the line). Saving edits the file as
read, through tomlkit, changing only the profiles and the default that changed: the
user's comments, key order and settings Argus does not know survive `argus login` and
`argus logout`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argus_tui.config.model import (
    HISTORY_KEYS,
    PROFILE_KEYS,
    TOP_LEVEL_KEYS,
    UI_KEYS,
    HistorySettings,
    Profile,
    TomlValue,
    UiSettings,
    history_from,
    profile_from,
    ui_from,
    unknown_settings,
)
from argus_tui.config.paths import config_path
from argus_tui.errors import ConfigError

if TYPE_CHECKING:  # tomlkit is imported only to save: every start reads, few write
    import tomlkit
    from tomlkit.items import Table

_HEADER = "Argus profiles. Secrets are kept in the OS keyring, not here."


@dataclass(slots=True)
class Config:
    """The whole config.toml: profiles, the default one, and UI and history settings."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    default: str | None = None
    path: Path = field(default_factory=config_path)
    ui: UiSettings = field(default_factory=UiSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    #: Settings that were not understood (typos, most likely): said, never fatal, and
    #: kept in the file when it is saved.
    warnings: list[str] = field(default_factory=list)
    # The file as last read or written, with its profiles and default: what `save` diffs.
    _text: str = field(default="", init=False, repr=False, compare=False)
    _saved: dict[str, Profile] = field(default_factory=dict, init=False, repr=False, compare=False)
    _saved_default: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        if not path.exists():
            return cls(path=path)
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path} is not valid TOML: {exc}",
                hint="fix the file, or remove it and run 'argus login' again",
            ) from None
        raw_profiles = data.get("profiles", {})
        if not isinstance(raw_profiles, dict):
            raise ConfigError(f"{path}: [profiles] must be a table")
        warnings = unknown_settings(str(path), data, TOP_LEVEL_KEYS)
        profiles: dict[str, Profile] = {}
        for name, raw in raw_profiles.items():
            profiles[name] = profile_from(path, name, raw)
            warnings += unknown_settings(f"{path} [profiles.{name}]", raw, PROFILE_KEYS)
        default = data.get("default")
        if default is not None and not isinstance(default, str):
            raise ConfigError(f"{path}: 'default' must be a profile name")
        raw_ui = data.get("ui", {})
        ui = ui_from(path, raw_ui)
        warnings += unknown_settings(f"{path} [ui]", raw_ui, UI_KEYS)
        raw_history = data.get("history", {})
        history = history_from(path, raw_history)
        warnings += unknown_settings(f"{path} [history]", raw_history, HISTORY_KEYS)
        config = cls(profiles, default, path, ui, history, warnings)
        config._remember(text)
        return config

    def save(self) -> None:
        """Write atomically with mode 0600; the file never holds a secret.

        Only the profiles and the default that changed since the file was read are
        rewritten, in place; everything else is left as the user wrote it.
        """
        import tomlkit

        document = self._document()
        if self.default != self._saved_default:
            if self.default:
                document["default"] = self.default
            elif "default" in document:
                del document["default"]
        tables = document.get("profiles")
        if not isinstance(tables, MutableMapping):
            tables = tomlkit.table(is_super_table=True)
            document["profiles"] = tables
        for name in self._saved.keys() - self.profiles.keys():
            if name in tables:
                del tables[name]
        for name, profile in self.profiles.items():
            if self._saved.get(name) == profile:
                continue
            table = tables.get(name)
            if isinstance(table, MutableMapping):
                _update(table, profile.to_toml())
            else:
                tables[name] = _new_table(profile.to_toml())
        text = tomlkit.dumps(document)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, self.path)
        self._remember(text)

    def default_name(self) -> str | None:
        if self.default and self.default in self.profiles:
            return self.default
        if len(self.profiles) == 1:
            return next(iter(self.profiles))
        return None

    def _remember(self, text: str) -> None:
        self._text = text
        self._saved = dict(self.profiles)
        self._saved_default = self.default

    def _document(self) -> tomlkit.TOMLDocument:
        """The file as read, as an editable document; a new one for a new file."""
        import tomlkit
        from tomlkit.exceptions import TOMLKitError

        if not self._text:
            document = tomlkit.document()
            document.add(tomlkit.comment(_HEADER))
            document.add(tomlkit.nl())
            return document
        try:
            return tomlkit.parse(self._text)
        except TOMLKitError as exc:
            raise ConfigError(f"cannot update {self.path}: {exc}") from None


def _new_table(values: Mapping[str, TomlValue]) -> Table:
    import tomlkit

    table = tomlkit.table()
    table.update(values)
    table.add(tomlkit.nl())  # a blank line before whatever table follows
    return table


def _update(table: MutableMapping[str, Any], values: Mapping[str, TomlValue]) -> None:
    """A profile's settings into its existing table: changed values are replaced (an
    unchanged one keeps its comment), settings the profile no longer has are removed, and
    settings Argus does not know are left alone."""
    for key in PROFILE_KEYS:
        if key not in values:
            if key in table:
                del table[key]
            continue
        old, new = table.get(key), values[key]
        if old is None or old != new or isinstance(old, bool) != isinstance(new, bool):
            table[key] = new
