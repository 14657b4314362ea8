"""Entry point of the ``varkit`` command: the group, error handling and sub-commands.

Sub-command modules are imported lazily so that ``varkit --help`` stays fast and a module
that is not installed (a future one) does not break the others.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from typing import Any

import click

from varkit import __version__
from varkit.cli.options import capture_warnings, print_warnings
from varkit.errors import VarkitError

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


# One line per command for `varkit --help`, written here so that listing the commands
# imports none of them (tests/cli/test_main.py checks every command has one).
_SHORT_HELP = {
    "bootstrap": "Bootstrap confidence interval of a statistic of a column.",
    "cav": "Crash-rate estimation for connected and automated vehicles.",
    "demo": "Run every module on the bundled example logs; print a report.",
    "evaluate": "Model evaluation and comparison (McNemar, 5x2cv, Friedman ...).",
    "fairness": "Ad-delivery fairness: VRS shuffle distances and coverage.",
    "gate": "Check results against the gates of a rules file.",
    "privacy": "Differential privacy: the epsilon an attack demonstrates.",
    "report": "Write an HTML report of results, with plots and gate decisions.",
}


def _available(target: str) -> bool:
    module = target.split(":")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class VarkitGroup(click.Group):
    """The ``varkit`` group: sub-commands load lazily, and every run keeps the CLI contract.

    Exit 0 on success and 1 when a gate failed (the command's own code). A
    :class:`~varkit.errors.VarkitError` (bad input or option) or a usage error prints one
    ``error:`` line and exits 2, with no traceback. Anything else is a bug in varkit: it
    prints ``internal error:``, the traceback and a request to report it, and exits 3.
    Every warning raised while a command runs is printed once as a ``warning:`` line on
    standard error after the command has run (and recorded in the emitted results'
    ``details``); none reaches the user as a raw Python warning. A command that fails with
    exit 2 prints only its ``error:`` line. ``VARKIT_DEBUG=1`` re-raises instead of exiting 3.
    """

    def main(  # type: ignore[override]
        self, args: Any = None, prog_name: str | None = None, **extra: Any
    ) -> None:
        extra.pop("standalone_mode", None)
        with capture_warnings() as caught:
            code = self._run_contract(args, prog_name, extra)
        if code != 2:  # a failed command says one thing: its error line
            print_warnings(caught)
        sys.exit(code)

    def _run_contract(self, args: Any, prog_name: str | None, extra: dict[str, Any]) -> int:
        debug = bool(os.environ.get("VARKIT_DEBUG"))
        try:
            # without standalone mode click returns the exit code of ctx.exit() instead
            code = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.exceptions.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"error: {_one_line(exc.format_message())}{hint}", err=True)
            return 2
        except click.exceptions.ClickException as exc:
            click.echo(f"error: {_one_line(exc.format_message())}", err=True)
            return 2
        except click.exceptions.Exit as exc:
            return int(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted.", err=True)
            return 2
        except VarkitError as exc:
            if debug:
                raise
            message = _name_options(_one_line(str(exc)) or type(exc).__name__, exc)
            click.echo(f"error: {message}", err=True)
            return 2
        except KeyboardInterrupt:
            click.echo("error: interrupted.", err=True)
            return 130
        except Exception:  # every other exception is a bug: say so, with the traceback
            if debug:
                raise
            click.echo(
                "internal error: varkit hit a bug; please report it with the command and "
                "the traceback below.",
                err=True,
            )
            click.echo(traceback.format_exc().rstrip(), err=True)
            return 3
        return code if isinstance(code, int) else 0

    def list_commands(self, ctx: click.Context) -> list[str]:
        extra = super().list_commands(ctx)
        return sorted({*extra, *(n for n, t in _COMMANDS.items() if _available(t))})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands from :data:`_SHORT_HELP`, importing none of them.

        Importing a command module imports its domain (numpy, scipy, pandas ...);
        ``varkit --help`` needs only one line per command.
        """
        rows = [(name, _SHORT_HELP.get(name, "")) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        target = _COMMANDS.get(cmd_name)
        if target is None or not _available(target):
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]


@click.group(cls=VarkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="varkit")
def cli() -> None:
    """varkit: statistical evaluation and safety testing with honest uncertainty."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _command_context(exc: BaseException) -> click.Context | None:
    """The click context of the command that was running when ``exc`` was raised.

    click keeps no reference to it once the exception is out, but the command's frames
    are still on the traceback (Command.invoke holds it as ``ctx``).
    """
    found = None
    tb = exc.__traceback__
    while tb is not None:
        ctx = tb.tb_frame.f_locals.get("ctx")
        if isinstance(ctx, click.Context) and not isinstance(ctx.command, click.Group):
            found = ctx
        tb = tb.tb_next
    return found


# A front door's keyword where the CLI option has another name: errors name the option.
FRONT_DOOR_NAMES = {
    "partition_rows": {"rows_per_partition"},
    "seed": {"random_state"},
    "target_specs": {"targets"},  # fairness compliance: --target sex=0.917 fills `targets`
}


def _name_options(message: str, exc: BaseException) -> str:
    """Say ``--delta`` where the API's message says `` `delta` `` (the user typed the option)."""
    ctx = _command_context(exc)
    if ctx is None:
        return message
    for param in ctx.command.params:
        if isinstance(param, click.Option) and param.name and param.opts:
            flag = max(param.opts, key=len)
            names = {param.name, flag.lstrip("-").replace("-", "_")}
            names |= FRONT_DOOR_NAMES.get(param.name, set())
            for name in names:
                message = message.replace(f"`{name}`", flag)
    return message


def main(argv: list[str] | None = None) -> None:
    """Run the ``varkit`` command (console-script entry point); see :class:`VarkitGroup`."""
    cli.main(args=argv, prog_name="varkit")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
