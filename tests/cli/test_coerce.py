"""``emeterai.cli._coerce``: plain option values converted without pydantic, to exactly what
Typer's own pydantic conversion gives, and everything else left to Typer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer import _coercion
from typer.models import OptionInfo

from emeterai.cli import _coerce

CASES: list[tuple[Any, dict[str, Any], Any]] = [
    (str, {}, "hello"),
    (str, {}, ""),
    (str, {}, "naïve ünïcode"),
    (str | None, {}, "x"),
    (int, {}, "4"),
    (int, {}, "0"),
    (int, {}, "007"),
    (int, {}, " 4"),
    (int, {}, "4.0"),
    (int, {}, "-3"),
    (int, {}, "1_000"),
    (int, {}, "x"),
    (int, {"min": 1}, "0"),
    (int, {"min": 1, "max": 64}, "65"),
    (int, {"min": 1, "max": 64}, "64"),
    (int, {"min": 1, "clamp": True}, "0"),
    (float, {}, "25"),
    (float, {}, "25.5"),
    (float, {}, "1e3"),
    (float, {}, "0.1"),
    (float, {"min": 15.0, "max": 40.0}, "14.9"),
    (float | None, {}, "inf"),
    (int, {}, 4),
    (int, {"min": 1}, 0),
    (int, {}, 4.0),
    (float, {}, 25),
    (float, {}, 25.0),
    (float, {"min": 15.0, "max": 40.0}, 41.0),
    (Path, {}, Path("a/b.pdf")),
    (Path | None, {"dir_okay": False}, Path(".")),
    (bool, {}, True),
    (bool, {}, "yes"),
    (Path, {}, "a/b.pdf"),
    (Path, {}, "-"),
    (Path, {}, ""),
    (Path | None, {"dir_okay": False}, "."),
    (Path, {"exists": True}, "no/such/file.pdf"),
    (Path, {"exists": True}, "."),
    (Path, {"resolve_path": True}, "x/../y.pdf"),
    (Path, {"path_type": str}, "a.pdf"),
    (list[Path], {}, ["a.pdf", "b/c.pdf"]),
    (list[Path], {}, []),
    (list[Path], {"exists": True}, [".", "no/such.pdf"]),
    (list[str], {}, ("x", "y")),
    (list[int], {}, ["1", "x"]),
]


def _outcome(runtime: Any, value: Any) -> Any:
    try:
        got = runtime._coerce_value(value, param=None, ctx=None)
    except Exception as exc:  # the error Typer raises, compared by type and words
        return ("error", type(exc).__name__, str(exc))
    return ("value", type(got).__name__, got if not isinstance(got, list) else list(got))


@pytest.mark.parametrize(("annotation", "info", "value"), CASES, ids=repr)
def test_the_fast_path_gives_what_typers_conversion_gives(
    annotation, info, value, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    descriptor = _coercion.resolve_type_descriptor(annotation, OptionInfo(**info))
    fast = _coerce.build_runtime_param(descriptor)
    assert _outcome(fast, value) == _outcome(_coerce.ORIGINAL_BUILD(descriptor), value)


def test_plain_annotations_take_the_fast_path_and_others_typers():
    def built(annotation: Any, **info: Any) -> Any:
        return _coerce.build_runtime_param(
            _coercion.resolve_type_descriptor(annotation, OptionInfo(**info))
        )

    for annotation in (str, int, float, bool, Path, Path | None, list[Path]):
        assert isinstance(built(annotation), _coerce.FastRuntimeParam), annotation
    import enum

    class Colour(enum.Enum):
        RED = "red"

    assert not isinstance(built(Colour), _coerce.FastRuntimeParam)
    assert not isinstance(built(str, parser=str.upper), _coerce.FastRuntimeParam)


def test_a_cold_verify_imports_no_pydantic(tmp_path):
    """The whole command, in a fresh interpreter: parsing its options costs no pydantic."""
    probe = (
        "import sys, json\n"
        "from emeterai.cli import main\n"
        "sys.argv = ['emeterai', 'verify', '--jobs', '1', '--json', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps('pydantic' in sys.modules), file=sys.stderr)\n"
    )
    pdf = tmp_path / "not-stamped.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%%EOF\n")
    done = subprocess.run(
        [sys.executable, "-c", probe, str(pdf)], capture_output=True, text=True, check=False
    )
    assert json.loads(done.stderr.strip().splitlines()[-1]) is False, done.stderr


def test_a_bad_value_is_still_typers_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "emeterai", "--lang", "en", "verify", "--jobs", "x", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Invalid value for '--jobs'" in done.stderr, done.stderr
