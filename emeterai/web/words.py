"""The words the pages' script shows (progress, verdicts, buttons that change), marked for the
catalog and handed to the page in its language: the script itself holds no text."""

from __future__ import annotations

from emeterai.i18n import N_

WORDS = {
    "valid": N_("VALID"),
    "invalid": N_("INVALID"),
    "checking": N_("Checking {done} of {total}…"),
    "checked": N_("{valid} valid, {invalid} invalid"),
    "uploading": N_("Uploading…"),
    "stamping": N_("Stamping…"),
    "stamped": N_(
        "Stamped: {name} (serial {serial}). The download starts; a copy is kept in the stamped files below."
    ),
    "preview_ready": N_("Preview: nothing has been spent."),
    "fallback": N_(
        "No 'Meterai' placeholder found: the stamp is at the bottom right. Drag it where it belongs."
    ),
    "placeholder": N_('The stamp covers "{text}" on page {page}.'),
    "page_of": N_("Page {page} of {pages}"),
    "locked": N_("The wallet is locked."),
    "unlocked": N_("The wallet is unlocked."),
    "none_available": N_("No stamp available: import stamps first."),
    "imported": N_("imported"),
    "duplicate": N_("already in the wallet"),
    "error": N_("not imported"),
    "trusted": N_("Issuer trusted: {name}"),
    "no_files": N_("Choose at least one file."),
    "failed": N_("Something went wrong: {message}"),
    "available": N_("available"),
    "used": N_("used"),
    "expired": N_("expired"),
    "reserved": N_("reserved"),
    "unsure": N_("unsure"),
    "not_valid_yet": N_("not valid yet"),
    "download": N_("Download"),
    "problem": N_("Problem"),
}
