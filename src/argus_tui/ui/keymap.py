"""Checks of the user's `[ui.keymap]`: a typo there would silently lose a key."""

from __future__ import annotations

from argus_tui.domain.console import DEFAULT_ESCAPE, escape_byte

#: The key that leaves a console. Not a Textual binding: it is read from the raw
#: terminal while the TUI is suspended, so only a control key can be it.
CONSOLE_LEAVE = "console.leave"


def console_leave(keymap: dict[str, str] | None) -> str:
    """The key that leaves a console; the default when the keymap's is not a control key
    (`keymap_problems` says so at start)."""
    key = (keymap or {}).get(CONSOLE_LEAVE, DEFAULT_ESCAPE)
    try:
        escape_byte(key)
    except ValueError:
        return DEFAULT_ESCAPE
    return key


def keymap_problems(keymap: dict[str, str], groups: dict[str, dict[str, str]]) -> list[str]:
    """Keymap entries that name no binding, or give a key another binding of the same
    screen (or the app) already uses, which would take that binding's key away."""
    problems: list[str] = []
    known = {bid for ids in groups.values() for bid in ids}
    for bid, keys in keymap.items():
        if bid == CONSOLE_LEAVE:
            try:
                escape_byte(keys)
            except ValueError as exc:
                problems.append(f"[ui.keymap] {bid!r}: {exc}; {DEFAULT_ESCAPE} is used")
            continue
        if bid not in known:
            problems.append(f"[ui.keymap] {bid!r} is not a binding id; see the README")
            continue
        for name, ids in groups.items():
            if bid not in ids:
                continue
            scope = {**groups["app"], **ids} if name != "app" else groups["app"]
            for other, other_keys in scope.items():
                current = keymap.get(other, other_keys)
                clash = set(keys.split(",")) & set(current.split(","))
                if other != bid and clash:
                    problems.append(
                        f"[ui.keymap] {bid!r} = {keys!r} takes {', '.join(sorted(clash))}"
                        f" from {other!r}"
                    )
    return problems
