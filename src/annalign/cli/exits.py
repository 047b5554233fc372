"""Run a click command the annalign way: one-line errors and warnings, and documented exit codes.

Exit codes: 0 done; 1 an unexpected error (a bug: one line on stderr, the traceback in a log
file); 2 bad input; 3 some LLM requests failed (``annotate``); 130 Ctrl-C; 143 SIGTERM. Every
line printed here goes through :func:`annalign.redaction.redact`.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import click

from annalign.errors import InputError, RequestsFailed
from annalign.redaction import redact


class Terminated(SystemExit):
    """Raised in the main thread by SIGTERM.

    A SystemExit, because asyncio's transports re-raise only SystemExit and KeyboardInterrupt: any
    other exception raised by the handler while a socket write is under way is logged as a "fatal
    write error" and swallowed, and the run went on to exit 0. (KeyboardInterrupt would be turned
    into click's Abort, exit 130.)
    """

    def __init__(self) -> None:
        super().__init__(143)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: str | None = None) -> None:
    """Print any Python warning as the CLI's one line ``warning: ...`` (no source path)."""
    lines = str(message).strip().splitlines()
    click.echo(f"warning: {redact(lines[0] if lines else category.__name__)}", err=True)


def log_dir() -> Path:
    """Where crash logs go: ``$ANNALIGN_LOG_DIR``, else ``$XDG_CACHE_HOME/annalign/logs`` (``~/.cache`` by default)."""
    if os.environ.get("ANNALIGN_LOG_DIR"):
        return Path(os.environ["ANNALIGN_LOG_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "annalign" / "logs"


def _masked_argv(argv: list[str]) -> list[str]:
    """The command line with the value of ``--api-key`` masked (it may not be registered as a secret yet)."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] == "--api-key":
            arg = "***"
        elif arg.startswith("--api-key="):
            arg = "--api-key=***"
        out.append(arg)
    return out


def write_crash_log(exc: BaseException) -> Path | None:
    """Write the (redacted) traceback of an unexpected error to a new log file, readable by its owner only."""
    from annalign import __version__

    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = (
        f"annalign {__version__}, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
        f"command: {' '.join(_masked_argv(sys.argv))}\n\n" + "".join(traceback.format_exception(exc))
    )
    for folder in (log_dir(), Path(tempfile.gettempdir())):
        path = folder / f"annalign-crash-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(redact(text))
            return path
        except OSError:
            continue
    return None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return redact(lines[0]) if lines else ""


def invoke(command: click.Command, argv: list[str] | None, prog_name: str) -> int:
    """Invoke ``command`` and turn every outcome into one line on stderr (at most) and an exit code."""
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave SIGTERM alone
        previous = None
    show = warnings.showwarning
    warnings.showwarning = show_warning
    try:
        result = command.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except InputError as exc:
        click.echo(f"annalign: error: {redact(str(exc))}", err=True)
        return 2
    except RequestsFailed as exc:
        click.echo(f"annalign: {redact(str(exc))}", err=True)
        return exc.exit_code
    except Terminated:
        click.echo("annalign: terminated (SIGTERM); everything finished so far is saved", err=True)
        return 143
    except click.exceptions.Abort:
        click.echo("annalign: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        click.echo("annalign: interrupted; everything finished so far is saved", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns a bug into a line and a log file
        path = write_crash_log(exc)
        where = f"the traceback is in {path}" if path else "the traceback could not be written to a log file"
        click.echo(f"annalign: internal error: {type(exc).__name__}: {_first_line(exc)} ({where}; please report it)", err=True)
        return 1
    finally:
        warnings.showwarning = show
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0
