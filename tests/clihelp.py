"""Running the annalign CLI in-process from tests, and reading its one-line errors."""

from __future__ import annotations

from annalign.cli.commands import main


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``annalign ARGS``."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def error_line(err: str) -> str:
    """The one ``annalign: error:`` line of stderr (asserting there is exactly one, and no traceback)."""
    lines = [line for line in err.strip().splitlines() if line.startswith("annalign: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
