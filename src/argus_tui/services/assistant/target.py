"""What the assistant is asked about: a guest, a node, a task, or (None) the cluster."""

from __future__ import annotations

from argus_tui.domain.models import Guest, Node, Task

Target = Guest | Node | Task


def target_key(target: Target | None) -> str:
    """One string per selection, so a context gathered for it can be reused."""
    if isinstance(target, Guest):
        return f"guest:{target.vmid}"
    if isinstance(target, Node):
        return f"node:{target.name}"
    if isinstance(target, Task):
        return f"task:{target.upid}"
    return "cluster"


def subject(target: Target | None) -> str:
    """The selection as the context's header and the journal name it (not yet redacted)."""
    if isinstance(target, Guest):
        return f"guest {target.vmid} ({target.label}) on node {target.node}"
    if isinstance(target, Task):
        return f"task {target.type} {target.id} on node {target.node}".replace("  ", " ")
    if isinstance(target, Node):
        return f"node {target.name}"
    return "the cluster"
