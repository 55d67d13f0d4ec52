"""The command line: a thin skin over the library. Each module holds one group of commands;
this one holds the app, the one error boundary and ``main``.

Heavy modules (pyHanko, pypdf, reportlab) are imported inside the commands that need them, so
that ``emeterai --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from emeterai import __version__, i18n
from emeterai.cli import _coerce, _framework, _tree


def _language_from_argv(argv: list[str]) -> str | None:
    """``--lang X`` or ``--lang=X`` anywhere on the command line: help texts are made when the
    command modules are imported, so the language must be known before that."""
    for i, arg in enumerate(argv):
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
    return None


_coerce.install()  # plain option values without pydantic: a fifth of a cold `verify`
_tree.install()  # each subcommand's options made when it runs: ~50 ms of every cold start
_framework.speak(i18n.choose(_language_from_argv(sys.argv[1:]), os.environ))

from emeterai.cli import (  # noqa: E402  after the language is known
    _common,
    demo,
    explain,
    issuer,
    ledger,
    seal,
    serial,
    serve,
    shrink,
    stamp,
    trust,
    verify,
    wallet,
)
from emeterai.errors import EmeteraiError, UsageError, library_logging  # noqa: E402
from emeterai.i18n import N_, _  # noqa: E402

__all__ = ["app", "main"]


class _Group(TyperGroup):
    """Turns every EmeteraiError into one stderr line and its exit code, in one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EmeteraiError as exc:
            _fail(ctx, exc, _common.describe(exc), exc.exit_code)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # e.g. piped into `head`: stop quietly
            sys.stderr.close()
            raise typer.Exit(1) from None
        except Exception as exc:  # a bug: say so in one line, details with --verbose
            if type(exc).__module__.startswith(("typer", "click")):
                raise
            line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            message = _("internal error ({kind}): {line}").format(
                kind=type(exc).__name__, line=line
            )
            _fail(ctx, exc, message, 1)


def _fail(ctx: Any, exc: BaseException, message: str, code: int) -> NoReturn:
    st = _common.state(ctx)
    if st.verbose:
        traceback.print_exception(exc, file=sys.stderr)
    st.err(_("emeterai: error: {message}").format(message=message))
    raise typer.Exit(code)


app = typer.Typer(
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: importing rich's renderer costs ~80 ms per start
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    help=_("Put e-meterai stamps on PDFs locally and offline, and verify them."),
)
app.add_typer(issuer.app, name="issuer")
app.add_typer(wallet.app, name="wallet")
app.add_typer(trust.app, name="trust")
app.add_typer(serial.app, name="serial")
app.add_typer(ledger.app, name="ledger")
app.command("stamp", help=stamp.HELP)(stamp.stamp_cmd)
app.command("verify", help=verify.HELP)(verify.verify_cmd)
app.command("shrink", help=shrink.HELP)(shrink.shrink_cmd)
app.command("explain", help=explain.HELP)(explain.explain_cmd)
app.command("demo", help=demo.HELP)(demo.demo_cmd)
app.command("serve", help=serve.HELP)(serve.serve_cmd)
app.command("seal", help=seal.HELP)(seal.seal_cmd)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"emeterai {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help=_("Tracebacks and library logs."))
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help=_("Show the version.")),
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="id|en",
            help=_("Language: id (Bahasa Indonesia) or en. Else EMETERAI_LANG, else the locale."),
        ),
    ] = None,
) -> None:
    if lang is not None and not i18n.known(lang):
        raise UsageError(N_("--lang {lang!r}: use id or en"), lang=lang)
    _framework.speak(i18n.choose(lang, os.environ))
    ctx.obj = _common.State(
        verbose=verbose, language_asked=lang or os.environ.get("EMETERAI_LANG") or None
    )
    library_logging(verbose)


def main() -> None:
    """The ``emeterai`` program. pyHanko is not imported here (``--help`` stays fast): the
    library puts its pyHanko fixes in place around its own calls (``emeterai._pyhanko``)."""
    app()
