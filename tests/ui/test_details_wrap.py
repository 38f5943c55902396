"""The details panel's long values wrap under their value column (a hanging indent), and
server text stays text: control characters escaped, markup literal, long words cut."""

from __future__ import annotations

from rich.cells import cell_len

from argus_tui.sim.server import Simulator
from argus_tui.ui.app import ArgusApp
from argus_tui.ui.widgets.detail_lines import MAX_VALUE_LINES, Row, row_lines, wrap
from argus_tui.ui.widgets.guest_details import DetailsReady, GuestDetails
from tests.ui.conftest import session_for, settle
from tests.ui.terminal import Terminal

VALUE_COLUMN = 17  # 16 cells of key and a space
NET0 = "virtio=BC:24:11:34:43:DA,bridge=vmbr0,firewall=1,tag=42,rate=125,queues=4"


def test_a_long_value_continues_under_its_value_column() -> None:
    lines = [line.plain for line in row_lines(Row(NET0, key="net0", key_width=16), 39)]
    assert lines[0] == "            net0 virtio="
    assert len(lines) > 2
    for line in lines[1:]:
        assert line[:VALUE_COLUMN] == " " * VALUE_COLUMN and line[VALUE_COLUMN] != " "
    assert all(cell_len(line) <= 39 for line in lines)
    # nothing lost: the lines put back together are the value
    assert "".join(line[VALUE_COLUMN:] for line in lines) == NET0


def test_breaks_fall_after_separators_before_anything_is_cut() -> None:
    assert wrap("order=scsi0;net0", 22) == ["order=scsi0;net0"]
    assert wrap("local-lvm:vm-100-disk-0,iothread=1,size=16G", 22) == [
        "local-lvm:",
        "vm-100-disk-0,",
        "iothread=1,size=16G",
    ]
    assert wrap("x" * 50, 22) == ["x" * 22, "x" * 22, "x" * 6]  # one long word: cut


def test_hostile_values_stay_text() -> None:
    value = "[bold]loud[/bold] \x1b[2J\x07 tab\there"
    [line] = wrap(value, 80)
    assert line == "[bold]loud[/bold] \\x1b[2J\\x07 tab here"
    assert not any(ord(c) < 32 for line in wrap("\x1b" * 40 + "\x9b", 10) for c in line)
    wide = wrap("漢字" * 20, 9)  # wide characters never overflow the column
    assert all(cell_len(line) <= 9 for line in wide) and "".join(wide) == "漢字" * 20


def test_a_description_of_several_lines_keeps_them_and_is_capped() -> None:
    description = "Primary database.\nOwner: finance\n\nDo not migrate during close."
    row = Row(description, key="description", key_width=16)
    lines = [line.plain for line in row_lines(row, 39)]
    assert lines[0] == "     description Primary database."
    assert lines[1:] == [
        " " * VALUE_COLUMN + "Owner: finance",
        "",
        " " * VALUE_COLUMN + "Do not migrate during",
        " " * VALUE_COLUMN + "close.",
    ]
    many = "\n".join(f"line {n}" for n in range(40))
    capped = row_lines(Row(many, key="description", key_width=16), 39)
    assert len(capped) == MAX_VALUE_LINES and capped[-1].plain.endswith("…")


def test_a_key_wider_than_its_column_stands_on_its_own_line() -> None:
    row = Row("1", key="lxc.apparmor.profile", key_width=16)
    lines = [line.plain for line in row_lines(row, 39)]
    assert lines == ["lxc.apparmor.profile", " " * VALUE_COLUMN + "1"]


async def test_the_panel_wraps_a_servers_long_config_under_the_values(sim: Simulator) -> None:
    """A config as a PVE server could send it, handed to the panel as its fetch does."""
    app = ArgusApp(session_for(sim, demo=True), interval=3600)
    terminal = Terminal(app, (200, 50))
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(GuestDetails)
        config = {
            "net0": NET0,
            "args": "-cpu host,+vmx -device vfio-pci,host=0000:41:00.0,multifunction=on",
            "description": "Edge gateway.\n[bold]owned by[/bold] \x1b]0;pwned\x07 netops",
            "scsi0": "local-lvm:vm-100-disk-0,cache=writeback,discard=on,iothread=1,size=16G",
        }
        guest = app.screen.selected  # type: ignore[attr-defined]
        details = {"current": {"qmpstatus": "running"}, "config": config}
        panel.post_message(DetailsReady(app.session, guest.vmid, details, None))
        await pilot.pause()
        left = panel.content_region.x
        lines = [line[left:] for line in terminal.text()[1:-2]]
        start = next(n for n, line in enumerate(lines) if line.startswith("            args "))
        block = lines[start : start + 12]
        assert block[:5] == [
            "            args -cpu host,+vmx -device",
            " " * VALUE_COLUMN + "vfio-pci,",
            " " * VALUE_COLUMN + "host=0000:41:00.0,",
            " " * VALUE_COLUMN + "multifunction=on",
            "     description Edge gateway.",
        ]
        keyed = [line.split()[0] for line in block if line[:VALUE_COLUMN].strip()]
        assert keyed[:4] == ["args", "description", "net0", "scsi0"]
        for line in block:  # every other line continues a value under its column
            assert not line or line[:VALUE_COLUMN].strip() or line[VALUE_COLUMN] != " ", line
        shown = "\n".join(lines)
        assert "[bold]owned by[/bold]" in shown and "\\x1b]0;pwned\\x07" in shown
        assert all(cell_len(line.rstrip()) <= panel.content_region.width for line in lines)
