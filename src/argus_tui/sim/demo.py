"""Built-in scenarios: the demo cluster and generated large clusters for benchmarks."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from argus_tui.sim import certs
from argus_tui.sim.metrics import unit
from argus_tui.sim.scenario import Scenario, ScenarioError, scenario_from_dict

if TYPE_CHECKING:
    from argus_tui.sim.server import Simulator

DEMO_TOKEN_ID = "argus@pve!demo"  # noqa: S105 - an id, not a secret
_WORDS = (
    "web",
    "api",
    "db",
    "cache",
    "queue",
    "auth",
    "mail",
    "dns",
    "proxy",
    "build",
    "ci",
    "log",
    "metrics",
    "search",
    "backup",
    "files",
    "vpn",
    "git",
    "chat",
    "wiki",
)
_ENVS = ("prod", "staging", "dev", "test")


# The demo's nightly backup job: every guest, every night for a week, on the NFS.
NIGHTLY_STORAGE = "nas-backup"
NIGHTS = 7
# (vmid, night) of the backups someone marked protected, with their notes.
PROTECTED = {(102, 7): "before the PostgreSQL 17 upgrade - keep", (201, 3): "nginx 1.26 - keep"}


def demo_data() -> dict[str, Any]:
    """demo.toml plus a week of nightly backups of every guest (see `nightly_backups`)."""
    text = resources.files("argus_tui.sim").joinpath("scenarios/demo.toml").read_text("utf-8")
    data = tomllib.loads(text)
    nightly_backups(data["guest"])
    return data


def nightly_backups(guests: list[dict[str, Any]]) -> None:
    """One backup per guest per night, in vmid order a few minutes apart, as a job runs."""
    for seq, guest in enumerate(sorted(guests, key=lambda g: g["vmid"])):
        backups = guest.setdefault("backups", [])
        for night in range(1, NIGHTS + 1):
            ago = 86400 * (night - 1) + 4 * 3600 + 1800 - 180 * seq
            entry: dict[str, Any] = {"storage": NIGHTLY_STORAGE, "ago": ago, "notes": guest["name"]}
            notes = PROTECTED.get((guest["vmid"], night))
            if notes:
                entry.update(protected=True, notes=notes)
            backups.append(entry)


def demo_scenario(seed: int | None = None) -> Scenario:
    """The demo cluster; `seed` overrides the scenario's own seed."""
    data = demo_data()
    if seed is not None:
        data["cluster"]["seed"] = seed
    return scenario_from_dict(data)


def demo_cert_dir() -> Path:
    """Where `argus --demo` keeps its certificate: the user's cache directory."""
    return Path(platformdirs.user_cache_dir("argus", appauthor=False)) / "demo-tls"


def demo_simulator(cert_dir: Path | None = None) -> Simulator:
    """The demo cluster on a free port of 127.0.0.1, not yet started. Its certificate is
    the one cached in `cert_dir` (default `demo_cert_dir()`), made on the first start and
    again before it expires, instead of two new RSA keys at every start."""
    from argus_tui.sim.server import Simulator

    scenario = demo_scenario()
    host = "127.0.0.1"
    bundle = certs.cached(cert_dir or demo_cert_dir(), scenario.nodes[0].name, [host])
    return Simulator(scenario, host=host, port=0, bundle=bundle)


_GENERATE_KEYS = ("nodes", "guests", "backups", "snapshots")


def parse_generate(spec: str) -> dict[str, int]:
    """`nodes=50,guests=10000[,backups=K][,snapshots=S]` -> {"nodes": 50, ...}."""
    usage = "--generate expects nodes=N,guests=M[,backups=K][,snapshots=S]"
    out: dict[str, int] = {}
    for part in filter(None, spec.split(",")):
        match = re.fullmatch(r"\s*(nodes|guests|backups|snapshots)\s*=\s*(\d+)\s*", part)
        if not match:
            raise ScenarioError(f"{usage}, got {spec!r}")
        out[match.group(1)] = int(match.group(2))
    if not out:
        raise ScenarioError(f"{usage}, got {spec!r}")
    return out


def generated_scenario(
    nodes: int = 3, guests: int = 25, seed: int = 0, backups: int = 0, snapshots: int = 0
) -> Scenario:
    """A large synthetic cluster with the demo's users and token, for benchmarks.

    `backups` spreads that many backups over the guests (on the shared `nas-backup`, a
    night apart per guest); `snapshots` gives the first guest a chain of that many.
    """
    if nodes < 1 or guests < 0:
        raise ScenarioError("--generate needs at least one node")
    if (backups or snapshots) and not guests:
        raise ScenarioError("--generate: backups and snapshots need guests")
    data: dict[str, Any] = {
        "cluster": {"name": f"gen-{nodes}n", "version": "9.1.2", "seed": seed},
        "node": [
            {
                "name": f"pve{i + 1:02d}",
                "cpus": 64,
                "memory": "512G",
                "disk": "2T",
                "ip": f"10.20.{i // 250}.{i % 250 + 1}",
            }
            for i in range(nodes)
        ],
        "pool": [{"id": "tenant-a"}, {"id": "tenant-b"}],
    }
    items = []
    for i in range(guests):
        vmid = 1000 + i
        r = unit(seed, str(vmid), "gen")
        is_lxc = r < 0.35
        word = _WORDS[int(unit(seed, str(vmid), "w") * len(_WORDS))]
        env = _ENVS[int(unit(seed, str(vmid), "e") * len(_ENVS))]
        status = "running" if unit(seed, str(vmid), "s") < 0.75 else "stopped"
        item: dict[str, Any] = {
            "vmid": vmid,
            "type": "lxc" if is_lxc else "qemu",
            "name": f"{word}-{env}-{i:05d}",
            "node": f"pve{i % nodes + 1:02d}",
            "status": status,
            "cores": 1 + int(unit(seed, str(vmid), "c") * 8),
            "memory": f"{1 + int(unit(seed, str(vmid), 'm') * 16)}G",
            "disk": f"{8 + int(unit(seed, str(vmid), 'd') * 200)}G",
            "tags": [env, word],
        }
        if r > 0.9:
            item["pool"] = "tenant-a" if r > 0.95 else "tenant-b"
        items.append(item)
    for i in range(backups):
        guest = items[i % guests]
        ago = 86400 * (i // guests) + 3600 + 60 * (i % guests) % 3600
        guest.setdefault("backups", []).append({"storage": "nas-backup", "ago": ago})
    if snapshots:
        items[0]["snapshots"] = [
            {"name": f"snap-{n:05d}", "ago": 60 * (snapshots - n)} for n in range(snapshots)
        ]
    data["guest"] = items
    demo = demo_data()
    data["user"] = demo["user"]
    data["token"] = demo["token"]
    data["acl"] = demo["acl"]
    return scenario_from_dict(data)
