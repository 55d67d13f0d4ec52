"""Names that are not valid UTF-8 (emeterai/names.py): the one rule by which reports, JSON and
human output show them. The commands' output: tests/cli/test_names.py, tests/cli/test_report.py."""

from __future__ import annotations

import json
import os

from emeterai.names import shown, shown_json

WINDOWS_NAME = os.fsdecode(b"surat-\xe9.pdf")  # "surat-é.pdf" in CP1252, unpacked on Linux


def test_undecodable_bytes_are_shown_as_backslash_escapes():
    assert WINDOWS_NAME == "surat-\udce9.pdf"
    assert shown(WINDOWS_NAME) == "surat-\\xe9.pdf"
    assert shown(os.fsdecode(b"a\xff\xfeb/\xe9")) == "a\\xff\\xfeb/\\xe9"
    shown(WINDOWS_NAME).encode("utf-8")  # strict: the reason for the rule


def test_valid_text_is_left_as_it_is():
    for text in ("", "Surat lamaran – Budi Ñ.pdf", "tanda 😀 tangan.pdf", "a\\xe9.pdf"):
        assert shown(text) == text


def test_a_lone_surrogate_not_from_a_byte_is_escaped_too():
    assert shown("x\ud800y") == "x\\ud800y"


def test_shown_json_reaches_every_string_and_the_result_is_valid_utf8_json():
    record = {
        "file": WINDOWS_NAME,
        "valid": False,
        "page": 1,
        "problems": [{"code": "unreadable", "detail": f"{WINDOWS_NAME}: not a PDF"}],
        "stamps": (),
        WINDOWS_NAME: None,
    }
    out = shown_json(record)
    assert out == {
        "file": "surat-\\xe9.pdf",
        "valid": False,
        "page": 1,
        "problems": [{"code": "unreadable", "detail": "surat-\\xe9.pdf: not a PDF"}],
        "stamps": [],
        "surat-\\xe9.pdf": None,
    }
    line = json.dumps(out, ensure_ascii=False).encode("utf-8")
    assert json.loads(line.decode("utf-8")) == out
