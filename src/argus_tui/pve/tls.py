"""Reading a server's certificate fingerprint before trusting it (trust on first use)."""

from __future__ import annotations

import hashlib
import socket
import ssl

from argus_tui.errors import ConnectionFailed


def fetch_fingerprint(host: str, port: int, timeout: float = 5.0) -> str:
    """SHA-256 of the certificate the server presents, in PVE's `AA:BB:..` form."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we only read the certificate to show it
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as sock,
            context.wrap_socket(sock, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ConnectionFailed(
            f"cannot reach {host}:{port} to read its certificate: {reason}",
            hint="check the host and port",
        ) from None
    if not der:
        raise ConnectionFailed(f"{host}:{port} presented no certificate")
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))
