"""Certificates as a Proxmox VE node has them: a cluster CA and a node certificate it signs.

Generating one costs two 2048-bit RSA keys (PVE's own kind), a tenth of a second or more,
so the demo keeps its certificate in a cache directory (`cached`) and makes a new one only
when that one is missing, unreadable, or expires within a month. cryptography is imported
only to generate: reading a cached bundle needs the standard library alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
import os
import ssl
import stat
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

#: A cached certificate is replaced when it expires sooner than this.
RENEW_BEFORE = dt.timedelta(days=30)
_FILES = ("cert.pem", "key.pem", "ca.pem")


@dataclass(frozen=True, slots=True)
class CertBundle:
    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint_of_pem(self.cert_pem)


def fingerprint_of_pem(pem: bytes) -> str:
    """SHA-256 over the DER certificate, upper-case hex pairs joined by colons (as PVE shows)."""
    der = ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _key() -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def generate(node: str, hosts: list[str]) -> CertBundle:
    """A PVE-style CA ("PVE Cluster Manager CA") and a node certificate for `hosts`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = _key()
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Proxmox Virtual Environment"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, str(uuid.uuid4())),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PVE Cluster Manager CA"),
        ]
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = _key()
    sans: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, "localhost", "127.0.0.1", "::1", node]):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "PVE Cluster Node"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Proxmox Virtual Environment"),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{node}.localdomain"),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=700))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return CertBundle(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
    )


def load(cert_file: Path, key_file: Path) -> CertBundle:
    """A user-supplied certificate and key (as pveproxy-ssl.pem/.key)."""
    cert_pem = cert_file.read_bytes()
    return CertBundle(cert_pem=cert_pem, key_pem=key_file.read_bytes(), ca_pem=cert_pem)


def cached(
    directory: Path, node: str, hosts: list[str], *, now: dt.datetime | None = None
) -> CertBundle:
    """The bundle kept in `directory` (made 0700, files 0600), or a new one saved there.

    A new one is generated when a file is missing or unreadable, the key is readable by
    others, the pair does not load, or the certificate expires within RENEW_BEFORE. A
    directory that cannot be written only costs the saving: the bundle is still returned.
    """
    now = now or dt.datetime.now(dt.UTC)
    bundle = _read(directory, now)
    if bundle is not None:
        return bundle
    bundle = generate(node, hosts)
    with contextlib.suppress(OSError):
        _save(directory, bundle)
    return bundle


def _read(directory: Path, now: dt.datetime) -> CertBundle | None:
    """The cached bundle if it is whole, private, loads, and is not about to expire."""
    cert_path, key_path, ca_path = (directory / name for name in _FILES)
    try:
        if stat.S_IMODE(key_path.stat().st_mode) & 0o077:
            return None
        bundle = CertBundle(cert_path.read_bytes(), key_path.read_bytes(), ca_path.read_bytes())
        if not_after(ssl.PEM_cert_to_DER_cert(bundle.cert_pem.decode("ascii"))) < now + (
            RENEW_BEFORE
        ):
            return None
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
    except (OSError, ValueError, ssl.SSLError):
        return None
    return bundle


def _save(directory: Path, bundle: CertBundle) -> None:
    """Each file written to a private temporary file, then renamed into place; the
    directory, and Argus's folder holding it when that is new, are made 0700."""
    directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    for name, data in zip(_FILES, (bundle.cert_pem, bundle.key_pem, bundle.ca_pem), strict=True):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")  # created 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def not_after(der: bytes) -> dt.datetime:
    """The end of a DER certificate's validity (RFC 5280 Validity.notAfter), read with a
    few lines of DER instead of importing cryptography; ValueError when it is not one."""
    cert = _content(der, 0, 0x30)
    tbs = _content(der, cert[0], 0x30)
    pos = tbs[0]
    if der[pos] == 0xA0:  # [0] version
        pos = _content(der, pos, 0xA0)[1]
    for tag in (0x02, 0x30, 0x30):  # serialNumber, signature, issuer
        pos = _content(der, pos, tag)[1]
    validity = _content(der, pos, 0x30)
    after = _content(der, validity[0], None)[1]  # past notBefore
    tag = der[after] if after < len(der) else 0
    start, end = _content(der, after, None)
    text = der[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ, years 1950-2049
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # nor GeneralizedTime: YYYYMMDDHHMMSSZ
        raise ValueError("not a certificate time")
    return dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)


def _content(der: bytes, pos: int, tag: int | None) -> tuple[int, int]:
    """(start, end) of the contents of the DER element at `pos`, checking its tag."""
    if pos + 2 > len(der) or (tag is not None and der[pos] != tag):
        raise ValueError("not a DER certificate")
    length = der[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("not a DER certificate")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError("not a DER certificate")
    return start, end
