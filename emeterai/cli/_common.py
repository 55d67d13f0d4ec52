"""What every command shares: the context object, options, secrets, and how output is written.

Results go to stdout; diagnostics and progress to stderr. Nothing here decides anything a web
app would need again: the rules live in the library.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from emeterai.errors import EmeteraiError, Hint, PassphraseError, UsageError
from emeterai.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from rich.progress import Progress

    from emeterai.trust import TrustStore
    from emeterai.wallet import Wallet

T = TypeVar("T")

# How the command line words each hint of the library's errors: the whole line, the error's
# own (English) message as {message}; translated where it is shown (see describe).
HINTS: dict[Hint, str] = {
    Hint.FORCE: N_("{message} (use --force to overwrite)"),
    Hint.PASSWORD: N_("{message} (--password)"),
    Hint.OWNER_PASSWORD: N_("{message}; give the owner password with --password to stamp it"),
    Hint.SIZE: N_("{message}; use a smaller --size"),
    Hint.SIZE_RANGE: N_("{message} (--size)"),
    Hint.PAGE: N_("{message} (--page)"),
    Hint.ALLOW_UNTRUSTED: N_(
        "{message} (add the issuer with 'emeterai trust add', or --allow-untrusted)"
    ),
    Hint.OUTPUT: N_("{message}; choose another -o"),
    Hint.ADD_STAMP: N_("{message} (to add a second party's stamp, use --add-stamp)"),
    Hint.SHRINK: N_(
        "{message}; make a smaller copy first: "
        "emeterai shrink FILE.pdf -o SMALL.pdf --max-size SIZE"
    ),
}


def _plain_argument_names() -> None:
    """An argument given a metavar (``FILE.pdf...``) is shown as just that: Typer writes a
    required one as ``{FILE.pdf...}...`` in the usage line and adds its Python type
    (``<list[Path]>``) in the list of arguments, words for programmers."""
    from typer.core import TyperArgument

    usage = TyperArgument._usage_display_name
    type_name = TyperArgument.display_type_rich

    def usage_name(self: TyperArgument) -> str:
        if self.metavar is None:
            return usage(self)
        return self.metavar if self.required else f"[{self.metavar}]"

    def shown_type(self: TyperArgument, ctx: Any) -> str | None:
        return None if self.metavar is not None else type_name(self, ctx)

    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    TyperArgument.display_type_rich = shown_type  # type: ignore[method-assign,assignment]


_plain_argument_names()


@dataclass
class State:
    """The run's state, on ``ctx.obj``: instead of module globals."""

    verbose: bool = False
    language_asked: str | None = None  # --lang or EMETERAI_LANG, not the machine's locale
    live: Progress | None = field(default=None, repr=False)  # the progress bar being drawn

    def home(self) -> Path:
        env = os.environ.get("EMETERAI_HOME")
        if env:
            return Path(env).expanduser()
        import platformdirs

        return Path(platformdirs.user_data_dir("emeterai", appauthor=False))

    def wallet(self) -> Wallet:
        from emeterai import home

        return home.wallet(self.home())

    def trust_store(self, tsa: bool = False) -> TrustStore:
        """The trusted issuers, or with ``tsa`` the trusted timestamp authorities."""
        from emeterai import home

        return home.trust_store(self.home(), tsa)

    def err(self, text: str) -> None:
        """One line on stderr, above the progress bar while one is drawn (never through it);
        names that are not UTF-8 shown as in the reports (:func:`emeterai.names.shown`)."""
        if self.live is not None:
            from emeterai.names import shown

            text = shown(text)
            # A Text is printed as it is; markup=False here would also reach the bar drawn
            # under the line, which then showed its own markup ("[progress.description]").
            from rich.text import Text

            self.live.console.print(Text(text), highlight=False, soft_wrap=True)
        else:
            echo(text, err=True)

    def start_progress(self, total: int, label: str | None = None, json_out: bool = False) -> None:
        """A progress bar on stderr when it is a terminal and there is more than one file;
        not when JSON Lines go to that terminal too (they would be written into the bar).
        ``label`` is in the reader's language (``_("stamping")``)."""
        if total < 2 or not sys.stderr.isatty() or (json_out and sys.stdout.isatty()):
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.live = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.live.start()
        self.live.add_task(_("working") if label is None else label, total=total)

    def advance(self) -> None:
        if self.live is not None:
            self.live.advance(self.live.task_ids[0])

    def stop_progress(self) -> None:
        if self.live is not None:
            self.live.stop()
        self.live = None


def echo(text: str, err: bool = False) -> None:
    """One line on stdout (``err``: stderr) with names that are not UTF-8 shown as in the
    reports (:func:`emeterai.names.shown`): every command writes its lines through this."""
    from emeterai.names import shown

    typer.echo(shown(text), err=err)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = ctx.find_root().obj = State()
    return obj


def describe(exc: EmeteraiError, about: str | None = None, *, english: bool = False) -> str:
    """The error as the command line shows it: one line, the file first (``about``, when the
    error names another file, e.g. an output), the flag that helps; in the reader's language,
    or ``english`` for the text that goes into JSON, the same in every language."""
    lines = exc.about(about, translate=not english).splitlines()
    text = lines[0] if lines else type(exc).__name__
    if exc.hint is None:
        return text
    hint = HINTS[exc.hint]
    return (hint if english else _(hint)).format(message=text)


PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="FILE",
        help=_(
            "Read the passphrase from this file (first line). "
            "Else EMETERAI_PASSPHRASE, else a prompt."
        ),
        dir_okay=False,
    ),
]
StampPassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--stamp-passphrase-file",
        metavar="FILE",
        help=_(
            "Passphrase of the stamp files (first line). "
            "Else EMETERAI_STAMP_PASSPHRASE, else a prompt."
        ),
        dir_okay=False,
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help=_("One JSON object per line on stdout."))]


TRIES = 3  # passphrase entries at a terminal before a wrong one is final


def secret_given(passphrase_file: Path | None, env_var: str = "EMETERAI_PASSPHRASE") -> bool:
    """Is the secret at hand without asking anyone (a file or the environment)?"""
    return passphrase_file is not None or bool(os.environ.get(env_var))


def _secret(
    passphrase_file: Path | None, what: str, env_var: str, file_option: str
) -> tuple[str, bool]:
    """The secret from the file, else the environment, else the terminal (not yet asked):
    (secret, "" when it is still to be prompted for)."""
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text().splitlines()
        except OSError as exc:
            raise PassphraseError(
                N_("cannot read passphrase file ({reason})"),
                path=passphrase_file,
                reason=exc.strerror,
            ) from None
        if not lines or not lines[0]:
            raise PassphraseError(N_("the passphrase file is empty"), path=passphrase_file)
        return lines[0], True
    env = os.environ.get(env_var)
    if env:
        return env, True
    if not sys.stdin.isatty():
        raise PassphraseError(
            N_("a passphrase is needed for {what}: set {env_var} or use {file_option}"),
            what=what,
            env_var=env_var,
            file_option=file_option,
        )
    return "", False


def _ask(what: str) -> str:
    """The prompt for the secret of ``what`` (given in the reader's language: ``_("the
    wallet")``)."""
    return _("Passphrase for {what}").format(what=what)


def _prompt(text: str) -> str:
    value: str = typer.prompt(text, hide_input=True, err=True)
    return value


def _confirmed(what: str, vet: Callable[[str], None] | None) -> str:
    """A new secret typed twice; ``vet`` judges the first entry before the second is asked."""
    for _attempt in range(TRIES):
        value = _prompt(_ask(what))
        if vet is not None:
            vet(value)
        if _prompt(_("Repeat for confirmation")) == value:
            return value
        typer.echo(_("emeterai: the two entries differ; type them again"), err=True)
    raise PassphraseError(
        N_("the two entries of the passphrase for {what} did not match"), what=what
    )


def passphrase(
    passphrase_file: Path | None,
    what: str,
    confirm: bool = False,
    env_var: str = "EMETERAI_PASSPHRASE",
    file_option: str = "--passphrase-file",
    vet: Callable[[str], None] | None = None,
) -> str:
    """The secret of this command: file, environment or prompt, in that order. A new secret
    (``confirm``) is typed twice at a terminal; ``vet`` raises for one that is refused, before
    the confirmation is asked for."""
    secret, given = _secret(passphrase_file, what, env_var, file_option)
    if not given:
        return _confirmed(what, vet) if confirm else _prompt(_ask(what))
    if vet is not None:
        vet(secret)
    return secret


def with_retries(
    passphrase_file: Path | None,
    what: str,
    check: Callable[[str], T],
    *,
    env_var: str = "EMETERAI_PASSPHRASE",
    file_option: str = "--passphrase-file",
) -> tuple[str, T]:
    """The secret (as :func:`passphrase` gets it) and ``check(secret)``. A wrong one typed at
    the terminal may be typed again, TRIES times in all; from a file or the environment the
    first PassphraseError is final (a script must not loop)."""
    secret, given = _secret(passphrase_file, what, env_var, file_option)
    for attempt in range(1, TRIES + 1):
        if not given:
            secret = _prompt(_ask(what))
        try:
            return secret, check(secret)
        except PassphraseError as exc:
            left = TRIES - attempt
            if given or not left:
                raise
            line = ngettext(
                "emeterai: {message}; {n} try left", "emeterai: {message}; {n} tries left", left
            )
            echo(line.format(message=exc.translated(), n=left), err=True)
    raise AssertionError("unreachable")  # the last attempt returns or raises


def stamp_files_passphrase(
    passphrase_file: Path | None, confirm: bool = False, vet: Callable[[str], None] | None = None
) -> str:
    return passphrase(
        passphrase_file,
        _("the new stamp files") if confirm else _("the stamp files"),
        confirm=confirm,
        env_var="EMETERAI_STAMP_PASSPHRASE",
        file_option="--stamp-passphrase-file",
        vet=vet,
    )


def pdf_files(st: State, pdfs: list[Path], skip_outputs: bool = False) -> list[Path]:
    """The PDFs named on the command line (folders expanded, without their ``*.emeterai.pdf``
    when ``skip_outputs``), or a usage error."""
    from emeterai._inputs import expand_pdfs

    files, empty = expand_pdfs(pdfs, skip_outputs=skip_outputs)
    for folder in empty:
        st.err(_("emeterai: warning: {folder}: no PDF files in this folder").format(folder=folder))
    if not files:
        raise UsageError(N_("no PDF files given"))
    return files


def parse_at(value: str | None) -> tuple[float, float] | None:
    """--at X,Y: millimetres from the top-left of the page as read."""
    if value is None:
        return None
    try:
        x, y = (float(v) for v in value.split(","))
    except ValueError:
        raise UsageError(
            N_("--at {value!r}: expected X,Y in millimetres, e.g. --at 150,230"), value=value
        ) from None
    if x < 0 or y < 0:
        raise UsageError(
            N_("--at {value!r}: millimetres from the top-left must not be negative"), value=value
        )
    return x, y


def parse_page(value: str | None) -> int | None:
    """1-based page, or -1 for 'last' ('terakhir'), or None when not given."""
    if value is None:
        return None
    if value.lower() in ("last", "terakhir"):  # the word in either language
        return -1
    try:
        page = int(value)
    except ValueError:
        raise UsageError(
            N_("--page {value!r}: expected a page number or 'last'"), value=value
        ) from None
    if page < 1:
        raise UsageError(N_("--page {value!r}: pages are numbered from 1"), value=value)
    return page


def read_file(path: Path) -> bytes:
    """A file the user named, or a one-line usage error naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(N_("cannot read ({reason})"), path=path, reason=exc.strerror) from None


def emit_json(obj: dict[str, Any]) -> None:
    """One JSON line on stdout, valid UTF-8: names that are not UTF-8 shown as in the reports."""
    from emeterai.names import shown_json

    typer.echo(json.dumps(shown_json(obj), ensure_ascii=False, sort_keys=False))


def write_new_file(path: Path, data: bytes, force: bool, mode: int = 0o644) -> None:
    from emeterai._files import write_atomic

    write_atomic(path, data, overwrite=force, mode=mode)


@contextlib.contextmanager
def stop_on_ctrl_c(st: State, stop: threading.Event, first: str, again: str) -> Iterator[None]:
    """Ctrl-C sets ``stop`` and says ``first`` (later presses: ``again``) instead of raising at
    whatever line the program is on: the run finishes what is under way, reports it whole and
    starts nothing new. (A stamp abandoned halfway would have spent a stamp nobody reports; a
    verdict interrupted between its count and its JSON line would be reported half.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_ctrl_c(signum: int, frame: object) -> None:
        st.err(again if stop.is_set() else first)
        stop.set()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        # once stopped, the run is ending with its summary and exit 130: a late press is moot
        signal.signal(signal.SIGINT, signal.SIG_IGN if stop.is_set() else previous)
