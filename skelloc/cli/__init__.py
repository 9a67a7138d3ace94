"""The ``skelloc`` command line: a thin typer layer over the public API.

Each command family lives in its own module (``localize``, ``show``, ``hub``, ``data``,
``evaluate``, ``train``) exposing ``register(app)``.  :func:`main` turns every :class:`SkellocError` into a
one-line message on stderr and the error's exit code (see :mod:`skelloc.errors`).
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import typer

from skelloc.errors import FrameRateAssumedWarning, SkellocError

try:  # typer >= 0.24 vendors its own click; older typer uses the click package
    from typer._click import exceptions as _click_exc
except ImportError:  # pragma: no cover
    from click import exceptions as _click_exc  # type: ignore[no-redef]

__all__ = ["app", "main", "run"]

_COMMAND_MODULES = ("localize", "show", "hub", "data", "evaluate", "train")

app = typer.Typer(
    name="skelloc",
    help="Skeleton-based temporal action localisation: pretrained models, features, training.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from skelloc import __version__

        typer.echo(f"skelloc {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and exit."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _flags_show_no_type() -> None:
    """Boolean flags (``--json``, ``--per-class``, ``--help``) take no value: their help row
    shows no ``<bool>`` type, so nobody types ``--json true``."""
    from typer.core import TyperOption

    if getattr(TyperOption.display_type_rich, "_skelloc", False):
        return
    original = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and not self.count:
            return None
        return original(self, ctx)

    display_type_rich._skelloc = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _register_commands() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"skelloc.cli.{name}")
        module.register(app)


_flags_show_no_type()
_register_commands()


def _tolerant_streams() -> None:
    """File names that are not valid in the locale's encoding (a non-UTF-8 byte under a strict
    UTF-8 locale) are printed with backslash escapes instead of failing after all the work."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot change
                pass


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` and return the exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    _tolerant_streams()
    shown: set[str] = set()

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: object = None, line: str | None = None) -> None:
        """A warning (e.g. the assumed frame rate) as one ``warning: ...`` line on stderr,
        each text once per run however many inputs trigger it."""
        text = str(message)
        if issubclass(category, FrameRateAssumedWarning):  # name the option, not the keyword
            text = text.replace(FrameRateAssumedWarning.remedy, FrameRateAssumedWarning.cli_remedy)
        if text not in shown:
            shown.add(text)
            typer.echo(f"warning: {text}", err=True)

    with warnings.catch_warnings():  # restores the previous filters and showwarning afterwards
        warnings.simplefilter("always", FrameRateAssumedWarning)
        warnings.showwarning = show
        return _run(args)


def _run(args: list[str]) -> int:
    try:
        result = app(args=args, prog_name="skelloc", standalone_mode=False)
    except SkellocError as err:
        message = (err.cli_message or str(err)).strip().splitlines()
        first = message[0] if message else type(err).__name__
        typer.echo(f"error: {first}", err=True)
        for extra in message[1:]:
            typer.echo(f"  {extra}", err=True)
        return err.exit_code
    except typer.Exit as err:
        return int(err.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except _click_exc.ClickException as err:
        err.show()
        return 2 if isinstance(err, _click_exc.UsageError) else int(err.exit_code or 1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        logging.getLogger("skelloc").debug("unexpected error", exc_info=True)
        typer.echo(f"error: unexpected {type(err).__name__}: {err}", err=True)
        return 1
    return int(result) if isinstance(result, int) else 0


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    sys.exit(run(argv))
