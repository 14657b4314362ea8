"""Entry point of the ``varkit`` command: the group, error handling and sub-commands.

Sub-command modules are imported lazily so that ``varkit --help`` stays fast and a module
that is not installed (a future one) does not break the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from varkit import __version__

# name -> "module:attribute" of a click command or group. A module that does not exist
# yet is simply not listed by `varkit --help`.
_COMMANDS = {
    "bootstrap": "varkit.cli.bootstrap:bootstrap",
    "demo": "varkit.cli.demo:demo",
    "evaluate": "varkit.cli.evaluate:evaluate",
    "privacy": "varkit.cli.privacy:privacy",
    "cav": "varkit.cli.cav:cav",
    "fairness": "varkit.cli.fairness:fairness",
    "gate": "varkit.cli.gate:gate",
    "report": "varkit.cli.report:report",
}


def _available(target: str) -> bool:
    module = target.split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class VarkitGroup(click.Group):
    """A click group that loads sub-commands lazily and turns input errors into exit 2.

    A ``ValueError`` or ``TypeError`` raised while running a command is an input problem by
    varkit's contract (every validator raises one of those with one clear sentence), so it
    is printed as ``error: <sentence>`` on stderr with exit status 2 and no traceback. Set
    ``VARKIT_DEBUG=1`` to see the traceback instead.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        extra = super().list_commands(ctx)
        return sorted({*extra, *(n for n, t in _COMMANDS.items() if _available(t))})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        target = _COMMANDS.get(cmd_name)
        if target is None or not _available(target):
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ValueError, TypeError) as exc:
            if os.environ.get("VARKIT_DEBUG"):
                raise
            message = " ".join(str(exc).split()) or type(exc).__name__
            click.echo(f"error: {message}", err=True)
            ctx.exit(2)


@click.group(cls=VarkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="varkit")
def cli() -> None:
    """varkit: statistical evaluation and safety testing with honest uncertainty."""


def main(argv: list[str] | None = None) -> None:
    """Run the ``varkit`` command (console-script entry point).

    Usage errors are printed as one ``error:`` line (click would print three).
    """
    try:
        # without standalone mode click returns the exit code of ctx.exit() instead
        code = cli.main(args=argv, prog_name="varkit", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)
        sys.exit(2)
    except click.exceptions.ClickException as exc:
        click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
