"""Certificates as a Proxmox VE node has them: a cluster CA and a node certificate it signs."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


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
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def generate(node: str, hosts: list[str]) -> CertBundle:
    """A PVE-style CA ("PVE Cluster Manager CA") and a node certificate for `hosts`."""
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
