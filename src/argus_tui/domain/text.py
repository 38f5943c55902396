"""Text from the server is data: make it safe to print on a terminal, literally."""

from __future__ import annotations

import re

# C0 and C1 control characters, DEL; ESC among them starts terminal escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str | None, *, keep_newlines: bool = False) -> str:
    """Replace control characters with visible `\\xNN` escapes so nothing reaches the tty."""
    if not text:
        return ""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    if not keep_newlines:
        out = out.replace("\n", "\\n").replace("\t", " ")
    return out


def without_controls(text: str) -> str:
    """Drop control characters other than newline and tab, for text rendered as Markdown
    (a model's answer is text, not a tty; an escape there would be noise)."""
    return _CONTROL.sub("", text)
