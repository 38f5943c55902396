"""What every CLI failure must look like, shared by the CLI tests."""

from __future__ import annotations

import subprocess


def one_clear_line(
    result: subprocess.CompletedProcess[str], code: int, *texts: str, never: tuple[str, ...] = ()
) -> str:
    """The exit code, and one `argus: ...` line on stderr holding `texts`, no traceback,
    and none of `never` (secrets)."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("argus: "), lines[0]
    for text in texts:
        assert text in lines[0], lines[0]
    for secret in never:
        assert secret not in result.stderr
    return lines[0]
