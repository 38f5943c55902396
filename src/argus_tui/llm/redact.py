"""Redaction: nothing secret is sent to a language model.

Applied to everything that leaves for the model (context, questions, earlier turns):

- the exact values Argus knows are secret (the API token secret, the LLM key), also
  URL- and JSON-escaped;
- anything shaped like a Proxmox token secret (`PVEAPIToken=user@realm!name=<secret>`,
  `user@realm!name=<uuid>`), tickets and CSRF tokens, bearer tokens, `sk-...` API keys,
  private key blocks, passwords in URLs, QEMU secret objects, and SSH public key bodies;
- values of password- and key-like settings: config keys such as `cipassword`,
  `sshkeys`, `password`, `secret`, `token`, `key`, `pass`, and `name=value` or
  `name: value` pairs with such names in free text.

Each is replaced with `[redacted]`. Over-redacting costs the model a detail; the
opposite leaks a secret, so the name rules are broad.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from argus_tui.domain.secret import Secret

REDACTED = "[redacted]"
#: Exact secrets shorter than this are not searched for: they would mangle ordinary text.
MIN_SECRET_LENGTH = 4

# A name is sensitive if it contains one of these...
_SENSITIVE_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "sshkey",
    "privkey",
    "credential",
    "cookie",
)
# ...or one of its words (split on punctuation and camelCase) is one of these.
_SENSITIVE_WORDS = frozenset(
    {"key", "keys", "pass", "pwd", "pw", "psk", "auth", "ticket", "csrf", "private", "session"}
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PVEAPIToken=user@realm!name=SECRET (header value, curl lines, logs)
    (re.compile(r"(PVEAPIToken\s*[=:]\s*[^\s=:]+[=:])\s*[^\s'\",;]+", re.I), rf"\1{REDACTED}"),
    # user@realm!tokenname=UUID without the prefix
    (re.compile(rf"([\w.-]+@[\w.-]+![\w.-]+\s*[=:]\s*){_UUID}"), rf"\1{REDACTED}"),
    # PVE tickets and CSRF tokens
    (re.compile(r"(PVEAuthCookie\s*[=:]\s*)[^\s;'\"]+", re.I), rf"\1{REDACTED}"),
    (re.compile(r"(CSRFPreventionToken\s*[=:]\s*)[^\s;'\"]+", re.I), rf"\1{REDACTED}"),
    (re.compile(r"PVE:[\w.@-]+:[0-9A-F]{8}::[A-Za-z0-9+/=]{20,}"), REDACTED),
    # Authorization headers whatever the scheme (Basic, Token, Digest...), bare Bearer
    # tokens, OpenAI-style keys
    (
        re.compile(
            r"((?:Proxy-)?Authorization[\"']?\s*[:=]\s*[\"']?[A-Za-z-]+\s+)[^\s\"',;]+", re.I
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), rf"\1{REDACTED}"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
    # private key blocks, even when cut short
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
        ),
        REDACTED,
    ),
    # QEMU secret objects in `args`: -object secret,id=x,data=VALUE
    (re.compile(r"(\bsecret,(?:[^\s,]+,)*?data=)[^\s,]+"), rf"\1{REDACTED}"),
    # scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s/:@]+:)[^\s/@]+@"), rf"\1{REDACTED}@"),
    # ssh public key bodies (sshkeys, authorized_keys lines)
    (
        re.compile(
            r"\b((?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-[\w-]+|sk-ssh-[\w@.-]+)(?:\s|%20)+)"
            r"[A-Za-z0-9+/=%]{16,}"
        ),
        rf"\1{REDACTED}",
    ),
)
# name=value / name: value in free text; the value is a quoted string or runs to a separator
# (also "name": value in JSON and 'name': value in Python reprs; a NUL or a literal \0
# ends a value, as between the variables of an LXC `env` setting)
_PAIR = re.compile(
    r"(?P<q>[\"']?)(?P<name>[A-Za-z_][\w.-]*)(?P=q)(?P<sep>\s*=\s*|[ \t]*:[ \t]*)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;&\"'\\\x00}]+)"
)
_NOT_PAIRS = frozenset({"pveapitoken", "pveauthcookie", "csrfpreventiontoken", "bearer"})


def is_sensitive_key(name: str) -> bool:
    """True for setting names that hold passwords, keys, tokens or similar."""
    lowered = name.lower()
    if any(part in lowered for part in _SENSITIVE_PARTS):
        return True
    return any(word.lower() in _SENSITIVE_WORDS for word in _WORD.findall(name))


class Redactor:
    """Redacts known secret values and secret-looking text; safe to print (repr hides)."""

    __slots__ = ("_forms",)

    def __init__(self, secrets: Iterable[str | Secret | None] = ()) -> None:
        forms: set[str] = set()
        for item in secrets:
            value = item.reveal() if isinstance(item, Secret) else item
            if not value or len(value) < MIN_SECRET_LENGTH:
                continue
            forms.update({value, quote(value, safe=""), json.dumps(value)[1:-1]})
        # longest first, so a secret containing another is replaced whole
        self._forms = tuple(Secret(f) for f in sorted(forms, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor({len(self._forms)} secret forms)"

    def text(self, text: str) -> str:
        """Free text (logs, messages, questions) with every secret replaced."""
        if not text:
            return text
        for form in self._forms:
            text = text.replace(form.reveal(), REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return _PAIR.sub(_redact_pair, text)

    def value(self, key: str, value: Any) -> Any:
        """One setting: a sensitive name hides the whole value; text is redacted inside."""
        if is_sensitive_key(key) and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, list | tuple):
            return [self.value(key, v) for v in value]
        return value

    def mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A config or status object with every sensitive value replaced."""
        return {str(k): self.value(str(k), v) for k, v in data.items()}


def _redact_pair(match: re.Match[str]) -> str:
    name = match.group("name")
    value = match.group("value")
    if name.lower() in _NOT_PAIRS or not is_sensitive_key(name) or REDACTED in value:
        return match.group(0)
    if match.group("sep").strip() == ":" and value.startswith("//"):
        return match.group(0)  # a URL such as token://..., not a pair
    quote_mark = match.group("q")
    return f"{quote_mark}{name}{quote_mark}{match.group('sep')}{REDACTED}"
