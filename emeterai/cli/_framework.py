"""The words of Typer's own help screens and parse errors, marked for the catalog.

Typer looks a few of them up with the standard library's ``gettext`` in the default text
domain, which :func:`speak` points at emeterai's catalog. Its vendored click writes the rest
without a lookup: "Usage:", the help option's text, the ``[OPTIONS]`` placeholder, range hints
(``x>=1``) and every parse error ("Error: No such option: --x", "Missing argument ...",
"Invalid value for ..."). :func:`_patch_click` translates those where they are written or shown
(private names of Typer's, pinned below 1.0 in pyproject.toml; tests/test_i18n.py fails when
they move or their English changes). Every template below is Typer's own English, so English
output stays exactly as Typer writes it.
"""

from __future__ import annotations

import gettext
import os
import re
from typing import IO, Any

from emeterai import i18n
from emeterai.i18n import N_

STRINGS = (
    N_("Arguments"),
    N_("Options"),
    N_("Commands"),
    N_("required"),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("(dynamic)"),
    N_("Aborted!"),
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("Usage: "),
    N_("Show this message and exit."),
)

OPTIONS = N_("[OPTIONS]")
SUBCOMMAND = N_("COMMAND [ARGS]...")
ERROR = N_("Error: {message}")
TRY_HELP = N_("Try '{command} {option}' for help.")
POSSIBLE = N_("(Possible options: {options})")
INVALID_FOR = N_("Invalid value for {name}: {message}")
INVALID = N_("Invalid value: {message}")
MISSING = {
    "argument": N_("Missing argument {name}."),
    "option": N_("Missing option {name}."),
    "parameter": N_("Missing parameter {name}."),
}
# TRANSLATORS: range hints in help, e.g. "[default: 1; x>=1]"
RANGES = (N_("x>={min}"), N_("x<={max}"), N_("{min}<=x<={max}"))

# Messages click builds in English before raising: each shape, as Typer writes it, with its
# template (the same words with their data as params).
_MESSAGES = tuple(
    (re.compile(pattern, re.DOTALL), template)
    for pattern, template in (
        (r"No such option: (?P<name>.*)", N_("No such option: {name}")),
        (r"Got unexpected extra argument\(s\) \((?P<args>.*)\)",
         N_("Got unexpected extra argument(s) ({args})")),
        (r"Option (?P<name>'.*') requires an argument\.",
         N_("Option {name} requires an argument.")),
        (r"Option (?P<name>'.*') requires (?P<count>\d+) arguments\.",
         N_("Option {name} requires {count} arguments.")),
        (r"Option (?P<name>'.*') does not take a value\.",
         N_("Option {name} does not take a value.")),
        (r"(?P<kind>[a-z]+) (?P<name>'.*') is a directory\.", N_("{kind} {name} is a directory.")),
        (r"(?P<kind>[a-z]+) (?P<name>'.*') is a file\.", N_("{kind} {name} is a file.")),
        (r"(?P<message>.*)\. Did you mean (?P<names>.*)\?",
         N_("{message}. Did you mean {names}?")),
    )
)  # fmt: skip

# Pydantic's checks of a typed option (--jobs 0, --size x), by its error type; in its English.
_PYDANTIC = {
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "less_than": N_("Input should be less than {lt}"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
}


def said(message: str) -> str:
    """A message click wrote in English, in the reader's language when it has a known shape."""
    for pattern, template in _MESSAGES:
        m = pattern.fullmatch(message)
        if m is not None:
            params = m.groupdict()
            if "message" in params:  # the sentence before "Did you mean": said itself
                params["message"] = said(params["message"])
            return i18n._(template).format(**params)
    return message


def _pydantic_said(exc: Any, english: str) -> str:
    errors = exc.errors()
    template = _PYDANTIC.get(errors[0].get("type")) if errors else None
    if template is None:
        return english
    try:
        return i18n._(template).format(**errors[0].get("ctx", {}))
    except (KeyError, IndexError, ValueError):
        return english


def _patch_click() -> None:
    from typer import _coercion, _param_types
    from typer import core as typer_core
    from typer._click import core, exceptions, formatting
    from typer._click._compat import get_text_stderr
    from typer._click.utils import echo

    write_usage = formatting.HelpFormatter.write_usage
    if getattr(write_usage, "_emeterai", False):
        return

    def translated_usage(
        self: formatting.HelpFormatter, prog: str, args: str = "", prefix: str | None = None
    ) -> None:
        write_usage(self, prog, args, i18n._("Usage: ") if prefix is None else prefix)

    translated_usage._emeterai = True  # type: ignore[attr-defined]
    formatting.HelpFormatter.write_usage = translated_usage  # type: ignore[method-assign]

    get_help_option = core.Command.get_help_option

    def translated_help_option(self: core.Command, ctx: core.Context) -> object:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = i18n._("Show this message and exit.")
        return option

    core.Command.get_help_option = translated_help_option  # type: ignore[method-assign,assignment]

    # the usage line's placeholders: "[OPTIONS]" first, a group's "COMMAND [ARGS]..." last
    pieces = core.Command.collect_usage_pieces

    def translated_pieces(self: core.Command, ctx: core.Context) -> list[str]:
        return [i18n._(p) if p in (OPTIONS, SUBCOMMAND) else p for p in pieces(self, ctx)]

    core.Command.collect_usage_pieces = translated_pieces  # type: ignore[method-assign]
    group_pieces = typer_core.TyperGroup.collect_usage_pieces

    def translated_group_pieces(self: Any, ctx: core.Context) -> list[str]:
        return [i18n._(p) if p == SUBCOMMAND else p for p in group_pieces(self, ctx)]

    typer_core.TyperGroup.collect_usage_pieces = translated_group_pieces  # type: ignore[method-assign]

    def number_range(min: float | None, max: float | None) -> str | None:
        if min is None and max is None:
            return None
        if min is None:
            return i18n._(RANGES[1]).format(max=max)
        if max is None:
            return i18n._(RANGES[0]).format(min=min)
        return i18n._(RANGES[2]).format(min=min, max=max)

    typer_core.describe_number_range = number_range

    error_msg = _coercion.get_error_msg

    def translated_error_msg(exc: Any) -> str:
        return _pydantic_said(exc, error_msg(exc))

    _coercion.get_error_msg = translated_error_msg
    _param_types.get_error_msg = translated_error_msg
    _patch_click_errors(exceptions, get_text_stderr, echo)


def _patch_click_errors(exceptions: Any, get_text_stderr: Any, echo: Any) -> None:
    """Click's errors as they are shown: "Error: ...", the help hint, and each message."""

    def shown(self: Any, file: IO[Any] | None = None) -> None:
        if file is None:
            file = get_text_stderr()
        ctx = getattr(self, "ctx", None)
        color = getattr(self, "show_color", None)
        if ctx is not None:
            hint = ""
            if ctx.command.get_help_option(ctx) is not None:
                hint = i18n._(TRY_HELP).format(
                    command=ctx.command_path, option=ctx.help_option_names[0]
                )
                hint += "\n"
            color = ctx.color
            echo(f"{ctx.get_usage()}\n{hint}", file=file, color=color)
        echo(i18n._(ERROR).format(message=self.format_message()), file=file, color=color)

    def message(self: Any) -> str:
        return said(self.message)

    def no_such_option(self: Any) -> str:
        text = said(self.message)
        if not self.possibilities:
            return text
        options = ", ".join(sorted(self.possibilities))
        return f"{text} {i18n._(POSSIBLE).format(options=options)}"

    def bad_parameter(self: Any) -> str:
        hint = self._emeterai_hint()
        if hint is None:
            return i18n._(INVALID).format(message=said(self.message))
        return i18n._(INVALID_FOR).format(name=hint, message=said(self.message))

    def hint_of(self: Any) -> str | None:
        param_hint = self.param_hint
        if param_hint is None and self.param is not None:
            param_hint = self.param.get_error_hint()
        return exceptions._join_param_hints(param_hint)  # type: ignore[no-any-return]

    missing_english = exceptions.MissingParameter.format_message

    def missing(self: Any) -> str:
        kind = self.param_type
        if kind is None and self.param is not None:
            kind = self.param.param_type_name
        extra = self.param.get_missing_message(ctx=self.ctx) if self.param is not None else ""
        hint = self._emeterai_hint()
        if self.message or extra or not hint or kind not in MISSING:
            return missing_english(self)  # type: ignore[no-any-return]
        return i18n._(MISSING[kind]).format(name=hint)

    exceptions.ClickException.show = shown
    exceptions.UsageError.show = shown
    exceptions.ClickException.format_message = message
    exceptions.NoSuchOption.format_message = no_such_option
    exceptions.BadParameter._emeterai_hint = hint_of
    exceptions.BadParameter.format_message = bad_parameter
    exceptions.MissingParameter.format_message = missing


def speak(lang: str) -> None:
    """Speak ``lang`` in emeterai's words and in Typer's."""
    i18n.set_language(lang)
    _patch_click()
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALE_DIR))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = lang  # the language the standard gettext looks up
