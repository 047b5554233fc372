"""Run a click command the annalign way: one-line errors with exit code 2, 130 on Ctrl-C."""

from __future__ import annotations

import click

from annalign.errors import InputError


def invoke(command: click.Command, argv: list[str] | None, prog_name: str) -> int:
    """Invoke ``command`` and turn user errors into one line on stderr and an exit code."""
    try:
        command.main(args=argv, prog_name=prog_name, standalone_mode=False)
    except InputError as exc:
        click.echo(f"annalign: error: {exc}", err=True)
        return 2
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
    return 0
