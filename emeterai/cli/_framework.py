"""The words of Typer's own help screens, marked for the catalog.

Typer looks them up with the standard library's ``gettext`` in the default text domain, which
:func:`speak` points at emeterai's catalog. Its vendored click writes two words without a lookup,
"Usage:" and the help option's "Show this message and exit."; :func:`_patch_click` translates
those two where they are written (private names of Typer's, pinned below 1.0 in pyproject.toml;
tests/test_i18n.py fails when they move).
"""

from __future__ import annotations

import gettext
import os

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


def _patch_click() -> None:
    from typer._click import core, formatting

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


def speak(lang: str) -> None:
    """Speak ``lang`` in emeterai's words and in Typer's."""
    i18n.set_language(lang)
    _patch_click()
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALE_DIR))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = lang  # the language the standard gettext looks up
