"""The demo's certificate, kept between starts: reused while good, made again when it is
missing, corrupt, readable by others or about to expire, and private on disk."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from argus_tui.sim import certs
from argus_tui.sim.demo import demo_simulator

HOSTS = ["127.0.0.1"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_first_start_saves_it_privately_and_the_next_reuses_it(tmp_path: Path) -> None:
    where = tmp_path / "cache" / "demo-tls"
    first = certs.cached(where, "pve-a", HOSTS)
    assert mode(where) == mode(where.parent) == 0o700  # the argus folder too, when new
    assert sorted(p.name for p in where.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    assert {p.name: mode(p) for p in where.iterdir()} == dict.fromkeys(
        ["ca.pem", "cert.pem", "key.pem"], 0o600
    )
    again = certs.cached(where, "pve-a", HOSTS)
    assert again == first


def test_an_open_directory_is_closed_when_saving(tmp_path: Path) -> None:
    where = tmp_path / "demo-tls"
    where.mkdir(mode=0o755)
    where.chmod(0o755)
    certs.cached(where, "pve-a", HOSTS)
    assert mode(where) == 0o700


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "cert.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nnot one\n"),
        lambda d: (d / "key.pem").write_bytes(b"garbage"),
        lambda d: (d / "ca.pem").unlink(),
        lambda d: (d / "key.pem").chmod(0o644),  # others may have read the key
    ],
    ids=["corrupt certificate", "corrupt key", "missing file", "key readable by others"],
)
def test_a_damaged_cache_is_made_again(tmp_path: Path, damage: object) -> None:
    where = tmp_path / "demo-tls"
    first = certs.cached(where, "pve-a", HOSTS)
    damage(where)  # type: ignore[operator]
    second = certs.cached(where, "pve-a", HOSTS)
    assert second.fingerprint != first.fingerprint
    assert certs.cached(where, "pve-a", HOSTS) == second  # and saved again
    assert mode(where / "key.pem") == 0o600


def test_a_certificate_near_its_end_is_made_again(tmp_path: Path) -> None:
    where = tmp_path / "demo-tls"
    first = certs.cached(where, "pve-a", HOSTS)
    end = certs.not_after(ssl.PEM_cert_to_DER_cert(first.cert_pem.decode()))
    assert certs.cached(where, "pve-a", HOSTS, now=end - dt.timedelta(days=31)) == first
    renewed = certs.cached(where, "pve-a", HOSTS, now=end - dt.timedelta(days=29))
    assert renewed.fingerprint != first.fingerprint
    expired = certs.cached(where, "pve-a", HOSTS, now=end + dt.timedelta(days=800))
    assert expired.fingerprint != renewed.fingerprint


def test_a_cache_that_cannot_be_written_still_gives_a_certificate(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    bundle = certs.cached(blocker / "demo-tls", "pve-a", HOSTS)
    assert bundle.fingerprint.count(":") == 31


def _certificate(not_after: dt.datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize(
    "end",
    [
        dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC),  # UTCTime
        dt.datetime(2051, 5, 6, 7, 8, 9, tzinfo=dt.UTC),  # GeneralizedTime (2050 and later)
    ],
)
def test_the_end_of_validity_is_read_without_cryptography(end: dt.datetime) -> None:
    assert certs.not_after(_certificate(end)) == end


def test_not_a_certificate_is_a_value_error() -> None:
    for junk in (b"", b"\x30\x05abc", b"\x02\x01\x00"):
        with pytest.raises(ValueError):
            certs.not_after(junk)


def test_the_demo_serves_the_cached_certificate(tmp_path: Path) -> None:
    first = demo_simulator(tmp_path / "demo-tls")
    first.stop()
    sim = demo_simulator(tmp_path / "demo-tls").start()
    try:
        assert sim.fingerprint == first.fingerprint
        context = ssl.create_default_context(cadata=sim.bundle.ca_pem.decode())
        with (
            socket.create_connection(("127.0.0.1", sim.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            der = tls.getpeercert(binary_form=True)
        assert der is not None
        served = hashlib.sha256(der).hexdigest().upper()
        assert ":".join(served[i : i + 2] for i in range(0, 64, 2)) == sim.fingerprint
    finally:
        sim.stop()
