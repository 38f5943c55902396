"""Where the assistant's model is, and how to say it is not configured yet.

Kept apart from `llm.client` so that settings can be resolved (and the "how to
configure" text shown) without importing the openai package.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from argus_tui.domain.secret import Secret
from argus_tui.errors import LlmNotConfigured

#: Seconds to wait for the next bytes of an answer (a local model on a CPU can take a
#: while to read a long context before its first word).
DEFAULT_TIMEOUT = 120.0
#: Seconds to wait for a TCP connection; an unreachable host should fail fast.
CONNECT_TIMEOUT = 10.0

HOW_TO_CONFIGURE = """\
The assistant is off until it knows which model to ask. Any OpenAI-compatible server
works: OpenAI, or a local Ollama, llama.cpp or vLLM server (these need no key).

Set these in the environment, or in a .env file in the working directory:

    ARGUS_LLM_BASE_URL=http://127.0.0.1:11434/v1   # Ollama; https://api.openai.com/v1 for OpenAI
    ARGUS_LLM_MODEL=llama3.1
    ARGUS_LLM_API_KEY=...                          # or OPENAI_API_KEY; not for local servers

or per profile in config.toml:

    [profiles.NAME]
    llm_base_url = "http://127.0.0.1:11434/v1"
    llm_model = "llama3.1"

and keep a key in the OS keyring with: argus llm-key [--profile NAME].
Then restart Argus. Before anything is sent, token secrets, the key and password- or
key-like values are redacted; ctrl+t in the pane shows exactly what will be sent."""


@dataclass(frozen=True, slots=True)
class LlmSettings:
    """Where the model is and how to authenticate; the key stays wrapped in a Secret."""

    base_url: str
    model: str
    api_key: Secret | None = None
    timeout: float = DEFAULT_TIMEOUT
    key_source: str = ""  # "environment", ".env", "keyring", or "" when no key is used
    key_problem: str = ""  # why the keyring could not be read, when it could not

    @property
    def host(self) -> str:
        """host[:port] of the base URL, for messages (never a user:password part)."""
        netloc = urlsplit(self.base_url).netloc
        return netloc.rpartition("@")[2] or self.base_url

    @property
    def url(self) -> str:
        """The base URL to show: without a user:password part."""
        parts = urlsplit(self.base_url)
        if "@" not in parts.netloc:
            return self.base_url
        return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()

    @property
    def url_password(self) -> str | None:
        """A password written into the base URL, to be redacted wherever it might appear."""
        try:
            return urlsplit(self.base_url).password
        except ValueError:
            return None

    def describe(self) -> str:
        """One line for status displays: model, server and where the key came from."""
        key = f"key from {self.key_source}" if self.api_key else "no key"
        return f"{self.model} at {self.url} ({key})"


def not_configured(missing: str = "ARGUS_LLM_BASE_URL and ARGUS_LLM_MODEL") -> LlmNotConfigured:
    """The one-line error for commands; HOW_TO_CONFIGURE is the long form for the pane."""
    return LlmNotConfigured(
        f"the assistant is not configured (no {missing})",
        hint="set ARGUS_LLM_BASE_URL and ARGUS_LLM_MODEL (e.g. http://127.0.0.1:11434/v1 and"
        " llama3.1 for a local Ollama), or llm_base_url and llm_model in the profile in"
        " config.toml; a key, if the server needs one, goes in ARGUS_LLM_API_KEY or"
        " 'argus llm-key'",
    )
