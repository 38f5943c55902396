"""Redaction: known secrets, secret-shaped text and password- or key-like settings."""

from __future__ import annotations

import pytest

from argus_tui.domain.secret import Secret
from argus_tui.llm.redact import REDACTED, Redactor, is_sensitive_key

TOKEN_SECRET = "d3m0d3m0-0000-4000-8000-000000000001"
LLM_KEY = "sk-proj-abcdefghijklmnop0123456789"


def test_exact_secrets_and_their_escaped_forms_are_replaced() -> None:
    redactor = Redactor([Secret(TOKEN_SECRET), LLM_KEY, None, ""])
    text = (
        f"secret {TOKEN_SECRET} in a log; key {LLM_KEY};"
        f" url-encoded {TOKEN_SECRET.replace('-', '%2D')}"
    )
    out = redactor.text(text)
    assert TOKEN_SECRET not in out and LLM_KEY not in out
    assert out.count(REDACTED) >= 2
    quoted = Redactor(['pa"ss/wo rd']).text('json: "pa\\"ss/wo rd", url: pa%22ss%2Fwo%20rd')
    assert "pa" not in quoted.replace("[redacted]", "")


def test_repr_never_shows_a_secret() -> None:
    assert TOKEN_SECRET not in repr(Redactor([TOKEN_SECRET]))


def test_short_values_are_not_searched_for() -> None:
    # a one-letter "secret" would otherwise destroy every word containing it
    assert Redactor(["a"]).text("a cat") == "a cat"


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        (
            "curl -H 'Authorization: PVEAPIToken=argus@pve!demo="
            "0a1b2c3d-0000-4000-8000-00000000abcd'",
            "0a1b2c3d-0000-4000-8000-00000000abcd",
            "PVEAPIToken=argus@pve!demo=",
        ),
        (
            "token root@pam!ci=12345678-aaaa-bbbb-cccc-1234567890ab in use",
            "12345678-aaaa-bbbb-cccc-1234567890ab",
            "root@pam!ci=",
        ),
        ("Cookie: PVEAuthCookie=PVE:root@pam:65F00000::abcdefghijklmnopqrstuvwx", "abcdefgh",
         "PVEAuthCookie="),
        ("CSRFPreventionToken: 65F00000:Zm9vYmFyYmF6", "Zm9vYmFyYmF6", "CSRFPreventionToken"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGci", "Bearer"),
        ("using key sk-live-ABCDEFGHIJKLMNOPQRSTUV now", "sk-live-ABCDEF", "using key"),
        ("mount cifs://backup:Hunter2!@nas/share", "Hunter2", "cifs://backup:"),
        ("password=hunter2 user=root", "hunter2", "user=root"),
        ("cipassword: $5$abc$def", "$5$abc$def", "cipassword"),
        ('smb options pass="s3cr3t value" vers=3', "s3cr3t", "vers=3"),
        ("ceph keyring key = AQBvaBFZAAAAABAA", "AQBvaBFZ", "ceph keyring"),
        ("api_key: abcdef123456", "abcdef123456", "api_key"),
        ("sshkeys=ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
         "AAAAC3NzaC1l", "sshkeys"),
    ],
)  # fmt: skip
def test_secret_shaped_text_is_redacted(text: str, gone: str, kept: str) -> None:
    out = Redactor().text(text)
    assert gone not in out, out
    assert kept in out, out
    assert REDACTED in out


def test_private_key_blocks_even_cut_short() -> None:
    block = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\nAAAA\n"
    out = Redactor().text("before\n" + block + "-----END OPENSSH PRIVATE KEY-----\nafter")
    assert "b3BlbnNz" not in out and "before" in out and "after" in out
    assert "b3BlbnNz" not in Redactor().text(block)


@pytest.mark.parametrize(
    "text",
    [
        "INFO: status = running",
        "kvm: -drive file=/dev/pve/vm-105-disk-0,if=none,id=drive-scsi0: Could not open",
        "keyboard: en-us",
        "features: keyctl=1,nesting=1",
        "smbios1: uuid=90207d0c-e727-4d9a-ae2e-1c2009292cb6",
        "net0: virtio=BC:24:11:64:13:8A,bridge=vmbr0,firewall=1",
        "TASK ERROR: start failed: QEMU exited with code 1",
        "see https://pve.proxmox.com/wiki/Backup",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert Redactor([TOKEN_SECRET]).text(text) == text


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "cipassword",
        "sshkeys",
        "secret",
        "token",
        "key",
        "pass",
        "api_key",
        "apiKey",
        "client-secret",
        "ssh-key",
        "passwd",
        "psk",
        "encryption-key",
    ],
)
def test_sensitive_names(name: str) -> None:
    assert is_sensitive_key(name)


@pytest.mark.parametrize(
    "name", ["keyboard", "keyctl", "name", "memory", "net0", "description", "bypass", "monkey"]
)
def test_ordinary_names(name: str) -> None:
    assert not is_sensitive_key(name)


def test_a_guest_config_keeps_its_shape_and_loses_its_secrets() -> None:
    config = {
        "name": "web-01",
        "memory": 4096,
        "cipassword": "$5$rounds=5000$salt$hash",
        "ciuser": "admin",
        "sshkeys": "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLs%20me",
        "description": "db admin password=Winter2024 (rotate!)",
        "args": "-object secret,id=sec0,data=c2VjcmV0",
        "hookscript": "local:snippets/hook.pl",
        "nested": {"token": "abc12345", "ok": "fine"},
        "list": ["password=xyz123", "plain"],
    }
    out = Redactor().mapping(config)
    assert set(out) == set(config)
    assert out["cipassword"] == out["sshkeys"] == REDACTED
    assert out["name"] == "web-01" and out["memory"] == 4096 and out["ciuser"] == "admin"
    assert "Winter2024" not in out["description"] and "rotate" in out["description"]
    assert "c2VjcmV0" not in out["args"]  # data= after a "secret" object: key-like pair
    assert out["nested"] == {"token": REDACTED, "ok": "fine"}
    assert out["list"] == [f"password={REDACTED}", "plain"]
    assert out["hookscript"] == "local:snippets/hook.pl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Basic YWRtaW46aHVudGVyMg==", "YWRtaW46aHVudGVyMg=="),
        ("authorization: Token abcdef0123456789", "abcdef0123456789"),
        ('{"password": "hunter2", "user": "bob"}', "hunter2"),
        ("{'db_password': 'hunter2'}", "hunter2"),
        (r"env: FOO=bar\0MYSQL_PWD=hunter2\0X=1", "hunter2"),
        ("env: FOO=bar\x00MYSQL_PWD=hunter2", "hunter2"),
        ("Password : hunter2", "hunter2"),
    ],
)
def test_more_secret_shapes(text: str, secret: str) -> None:
    out = Redactor().text(text)
    assert secret not in out and REDACTED in out


def test_json_keys_keep_their_neighbours() -> None:
    out = Redactor().text('{"password": "hunter2", "user": "bob"}')
    assert '"user": "bob"' in out
