"""The words of Typer's own help screens, marked for the catalog.

Typer looks them up with the standard library's ``gettext`` in the default text domain, which
:func:`speak` points at emeterai's catalog. (Its vendored click writes "Usage:" and "Show this
message and exit." without a lookup: those stay English.)
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
)


def speak(lang: str) -> None:
    """Speak ``lang`` in emeterai's words and in Typer's."""
    i18n.set_language(lang)
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALE_DIR))
    gettext.textdomain(i18n.DOMAIN)
    os.environ["LANGUAGE"] = lang  # the language the standard gettext looks up
