"""The ``skelloc`` command line: a thin typer layer over the public API.

Each command family lives in its own module (``localize``, ``show``, ``hub``, ``data``,
``evaluate``, ``train``) exposing ``register(app)``.  :func:`main` turns every :class:`SkellocError` into a
one-line message on stderr and the error's exit code (see :mod:`skelloc.errors`).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

import typer

from skelloc.errors import SkellocError

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


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register_commands() -> None:
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"skelloc.cli.{name}")
        module.register(app)


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
    try:
        result = app(args=args, prog_name="skelloc", standalone_mode=False)
    except SkellocError as err:
        message = str(err).strip().splitlines()
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
