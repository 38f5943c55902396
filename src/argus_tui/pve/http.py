"""The HTTPS session under PveClient: proxmoxer's token session, TLS as configured.

A module of its own so that `requests` (with urllib3, charset_normalizer, http.cookiejar:
about 60 ms of imports) is loaded by the first request, in the worker that makes it,
rather than by whoever imports or constructs a client: the TUI draws its first frame
meanwhile (docs/PERFORMANCE.md, "Start-up").
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
from proxmoxer import ProxmoxAPI
from requests.adapters import HTTPAdapter
from urllib3.util.ssl_ import create_urllib3_context

from argus_tui.pve.settings import ConnectionSettings


class _PinnedAdapter(HTTPAdapter):
    """Accept exactly one certificate, by SHA-256 fingerprint (PVE's self-signed case)."""

    def __init__(self, fingerprint: str) -> None:
        self._fingerprint = fingerprint.replace(":", "").lower()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["assert_fingerprint"] = self._fingerprint
        # A context of our own: urllib3 would load the system CA store into its default
        # one (tens of milliseconds at the first connection), which a pin never consults.
        kwargs["ssl_context"] = create_urllib3_context(cert_reqs=ssl.CERT_NONE)
        super().init_poolmanager(*args, **kwargs)


def new_session(settings: ConnectionSettings, user: str, token_name: str) -> requests.Session:
    """proxmoxer's session for the token (header, verify flag, timeouts), pinned if so set."""
    tls = settings.tls
    verify: bool | str = True
    if tls.mode == "ca" and tls.ca_file:
        verify = tls.ca_file
    elif tls.mode in ("insecure", "fingerprint"):
        verify = False
    api = ProxmoxAPI(
        settings.host,
        port=settings.port,
        user=user,
        token_name=token_name,
        token_value=settings.secret.reveal(),
        verify_ssl=verify,
        timeout=(settings.connect_timeout, settings.read_timeout),
    )
    session: requests.Session = api._store["session"]
    if tls.mode == "fingerprint" and tls.fingerprint:
        session.mount(f"https://{settings.address}/", _PinnedAdapter(tls.fingerprint))
    return session
