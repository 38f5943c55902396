"""What a task type implies: the lock it holds, its typical log line, how it ends when killed."""

from __future__ import annotations

#: The lock a running task of this type holds on its guest.
TASK_LOCKS = {
    "vzdump": "backup",
    "qmsnapshot": "snapshot",
    "vzsnapshot": "snapshot",
    "qmigrate": "migrate",
    "vzmigrate": "migrate",
}


#: Task types whose worker catches the stop signal itself and dies "interrupted by signal"
#: (vzdump; migrations end "migration aborted" through their own `on_abort`). Every other
#: worker has fork_worker's handler, which dies "received interrupt".
_OWN_SIGNAL_HANDLER = {"vzdump", "qmigrate", "vzmigrate", "qmclone", "qmmove", "vzmove"}


def interrupt_status(type_: str) -> str:
    """The exit status of a task of this type that `DELETE .../tasks/UPID` stopped."""
    return "interrupted by signal" if type_ in _OWN_SIGNAL_HANDLER else "received interrupt"


def default_log_line(type_: str, id_: str) -> str:
    """What a finished PVE task of this type typically logged before its last line."""
    texts = {
        "vzdump": f"INFO: starting new backup job: vzdump {id_} --mode snapshot --storage local",
        "qmstart": f"start VM {id_}: UPID",
        "aptupdate": "starting apt-get update",
        "qmigrate": f"starting migration of VM {id_}",
        "vzcreate": f"extracting archive for CT {id_}",
    }
    return texts.get(type_, f"{type_} {id_}".strip())
