"""``emeterai._lazy``: ``pyhanko.sign`` importable without its signers, and the same package as
pyHanko's own once anything of it is asked for. Each check runs in a fresh interpreter, since
the test process has long imported pyHanko."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def _run(code: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _stamped_letter(tmp_path, issuer) -> tuple[Path, Path]:
    """A letter stamped with a well-formed serial of ``issuer``, and that issuer's root."""
    from emeterai import serial as serials
    from tests.support.attacks import stamp_key_from_issuer, stamp_with_key
    from tests.support.common import PASSPHRASE
    from tests.support.pdfmakers import plain_pdf

    source = plain_pdf(tmp_path / "letter.pdf")
    key = stamp_key_from_issuer(issuer, PASSPHRASE, serials.generate(issuer.info.prefix))
    stamped = tmp_path / "letter.emeterai.pdf"
    stamped.write_bytes(stamp_with_key(source.read_bytes(), key))
    root = tmp_path / "root.pem"
    root.write_bytes(issuer.root_pem())
    return stamped, root


def test_verifying_a_stamp_imports_neither_the_signers_nor_aiohttp(tmp_path, issuer):
    """A whole verification of a real stamp, every check run, in a fresh interpreter."""
    stamped, root = _stamped_letter(tmp_path, issuer)
    out = _run(
        f"""
        import json, sys
        from pathlib import Path
        from emeterai.trust import parse_root
        from emeterai.verify import Verifier
        result = Verifier([parse_root(Path({str(root)!r}).read_bytes(), "root.pem")]).verify(
            Path({str(stamped)!r}).read_bytes(), "letter.emeterai.pdf")
        assert result.stamps and result.stamps[0].serial, result.to_json()
        print(json.dumps({{m: m in sys.modules for m in (
            "pyhanko.sign.validation", "pyhanko.sign.signers", "pyhanko.sign.timestamps",
            "aiohttp", "reportlab.lib.utils", "PIL._imaging")}}))
        """
    )
    assert out == {
        "pyhanko.sign.validation": True,
        "pyhanko.sign.signers": False,
        "pyhanko.sign.timestamps": False,
        "aiohttp": False,
        "reportlab.lib.utils": True,  # the picture check draws the expected stamp with it
        "PIL._imaging": False,  # ... and PIL.Image, which reportlab imports, never ran
    }


_DESCRIBE = """
    import re
    def describe(v):
        return f"{getattr(v, '__module__', None) or getattr(v, '__name__', '')}." + (
            getattr(v, "__qualname__", None) or re.sub(" at 0x[0-9a-f]+", "", repr(v)))
"""


def _real_and_deferred_names(package: str, first: str) -> tuple[dict, dict]:
    """What each name of ``package`` is, in a fresh interpreter without emeterai and in one
    where emeterai deferred it and ``first`` asked for something of it."""
    real = _run(
        textwrap.dedent(_DESCRIBE)
        + textwrap.dedent(
            f"""
            import json, {package} as pkg
            print(json.dumps({{k: describe(v) for k, v in vars(pkg).items()
                              if not k.startswith("__") or k == "__all__"}}))
            """
        )
    )
    deferred = _run(
        textwrap.dedent(_DESCRIBE)
        + "import emeterai\n"
        + first
        + textwrap.dedent(
            f"""
            import json, {package} as pkg
            print(json.dumps({{k: describe(getattr(pkg, k)) for k in {sorted(real)!r}}}))
            """
        )
    )
    return real, deferred


def test_a_cold_cli_verify_imports_no_signers_aiohttp_pil_or_process_pool(tmp_path, issuer):
    """``emeterai verify FILE --trust ROOT`` in a fresh interpreter, the CLI's own path (the
    batch runner included): one file needs no process pool, so no multiprocessing, and no
    stamping module."""
    stamped, root = _stamped_letter(tmp_path, issuer)
    out = _run(
        f"""
        import json, sys
        from emeterai.cli import main
        sys.argv = ["emeterai", "verify", {str(stamped)!r}, "--trust", {str(root)!r}, "--json"]
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        print(json.dumps({{"code": code, **{{m: m in sys.modules for m in (
            "pyhanko.sign.signers", "aiohttp", "PIL._imaging", "multiprocessing",
            "concurrent.futures.process", "emeterai._place", "emeterai.ledger", "sqlite3")}}}}))
        """
    )
    assert out == {
        "code": 0,
        "pyhanko.sign.signers": False,
        "aiohttp": False,
        "PIL._imaging": False,
        "multiprocessing": False,
        "concurrent.futures.process": False,
        "emeterai._place": False,  # stamping's placement: verify needs only its Box
        "emeterai.ledger": False,  # no --ledger given
        "sqlite3": False,
    }


@pytest.mark.parametrize(
    ("package", "first", "expected"),
    [
        ("pyhanko.sign", "from pyhanko.sign import PdfSigner", "PdfSigner"),
        ("pyhanko.sign", "import pyhanko.sign; pyhanko.sign.sign_pdf", "PdfSigner"),
        ("pyhanko.sign", "from pyhanko.sign import signers", "PdfSigner"),
        ("pyhanko.sign", "from pyhanko.sign import *", "PdfSigner"),
        ("pyhanko.sign.timestamps", "from pyhanko.sign.timestamps import TimeStamper", "TimeStamper"),
        ("pyhanko.sign.timestamps", "from pyhanko.sign.timestamps import HTTPTimeStamper", "HTTPTimeStamper"),
        ("pyhanko.sign.timestamps", "from pyhanko.sign.timestamps import *", "TimeStamper"),
        ("pyhanko.sign.timestamps", "import pyhanko.sign.timestamps as t; t.DummyTimeStamper", "HTTPTimeStamper"),
    ],
)  # fmt: skip
def test_a_deferred_package_gives_every_name_the_real_one_gives(package, first, expected):
    """The names of the real package against those of the deferred one, asked for in each way
    a program may ask."""
    real, deferred = _real_and_deferred_names(package, first)
    assert deferred == real
    assert expected in real and "__all__" in real


def test_a_submodule_asked_of_the_package_is_imported_alone():
    out = _run(
        """
        import json, sys
        import emeterai
        from pyhanko.sign import fields, general
        from emeterai import _lazy
        print(json.dumps({"deferred": _lazy.is_deferred(sys.modules["pyhanko.sign"]),
                          "signers": "pyhanko.sign.signers" in sys.modules,
                          "fields": fields.__name__}))
        """
    )
    assert out == {"deferred": True, "signers": False, "fields": "pyhanko.sign.fields"}


def test_a_package_already_imported_is_left_alone():
    out = _run(
        """
        import json, sys
        import pyhanko.sign
        before = sys.modules["pyhanko.sign"]
        import emeterai
        from emeterai import _lazy
        print(json.dumps({"same": sys.modules["pyhanko.sign"] is before,
                          "deferred": _lazy.is_deferred(before)}))
        """
    )
    assert out == {"same": True, "deferred": False}


def test_qr_codes_are_made_without_pil_and_the_drawers_are_still_there():
    out = _run(
        """
        import json, sys
        import emeterai
        from emeterai._render import qr_matrix
        rows = qr_matrix("HELLO")
        no_pil = "PIL" not in sys.modules
        from qrcode.image.styles.moduledrawers import SquareModuleDrawer
        from qrcode.image.styles.moduledrawers.pil import SquareModuleDrawer as Real
        print(json.dumps({"rows": len(rows), "no_pil": no_pil, "same": SquareModuleDrawer is Real}))
        """
    )
    assert out == {"rows": 21, "no_pil": True, "same": True}


def test_stamping_imports_no_aiohttp_and_the_tsa_client_is_still_there(
    tmp_path, home, wallet_with_stamps
):
    """A whole ``emeterai stamp`` (sign, self-check, write) in a fresh interpreter: aiohttp is
    not imported, and asking for the HTTP timestamp client afterwards gives the real one."""
    from tests.support.pdfmakers import plain_pdf

    wallet_with_stamps(1)
    source = plain_pdf(tmp_path / "letter.pdf")
    out = _run(
        f"""
        import json, sys
        from emeterai.cli import main
        sys.argv = ["emeterai", "stamp", {str(source)!r}, "-o", {str(tmp_path / "out.pdf")!r}]
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        signed = "pyhanko.sign.signers.pdf_signer" in sys.modules
        before = "aiohttp" in sys.modules
        from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
        from pyhanko.sign.timestamps import api
        print(json.dumps({{"code": code, "signed": signed, "aiohttp": before,
                          "client": HTTPTimeStamper.__module__,
                          "base": issubclass(HTTPTimeStamper, TimeStamper),
                          "same": TimeStamper is api.TimeStamper,
                          "aiohttp after": "aiohttp" in sys.modules}}))
        """
    )
    assert (tmp_path / "out.pdf").is_file()
    assert out == {
        "code": 0,
        "signed": True,
        "aiohttp": False,
        "client": "pyhanko.sign.timestamps.aiohttp_client",
        "base": True,
        "same": True,
        "aiohttp after": True,
    }


def test_the_names_taken_without_the_timestamps_init_are_those_it_exports():
    """``NAMES`` must name, for each name, the submodule the real ``__init__`` takes it from."""
    from emeterai import _lazy

    out = _run(
        f"""
        import json, importlib
        import pyhanko.sign.timestamps as pkg
        names = {_lazy.NAMES["pyhanko.sign.timestamps"]!r}
        print(json.dumps({{k: getattr(importlib.import_module(f"{{pkg.__name__}}.{{m}}"), k)
                          is getattr(pkg, k) for k, m in names.items()}}))
        """
    )
    assert out == dict.fromkeys(_lazy.NAMES["pyhanko.sign.timestamps"], True)


def test_ades_uses_its_fetcher_backend_only_by_calling_it():
    """The stand-in works only while pyHanko's ``ades`` calls the name and does nothing else
    with it (no isinstance, no subclass, no annotation evaluated at import)."""
    import re
    from importlib.util import find_spec

    for module, (package, names) in _lazy_stand_ins().items():
        spec = find_spec(module)
        assert spec is not None and spec.origin is not None
        source = Path(spec.origin).read_text(encoding="utf-8")
        for name in names:
            uses = [m.start() for m in re.finditer(rf"\b{name}\b", source)]
            calls = [m.start() for m in re.finditer(rf"\b{name}\(\)", source)]
            imported = re.search(rf"from {re.escape(package)} import \(\s*{name},\s*\)", source)
            assert imported is not None, (module, name)
            assert len(uses) == 1 + len(calls) and calls, (module, name, len(uses), len(calls))

    out = _run(
        """
        import json, sys
        import emeterai
        from pyhanko.sign.validation import ades
        stand_in = ades.AIOHttpFetcherBackend
        quiet = "aiohttp" in sys.modules
        made = stand_in()
        from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
        print(json.dumps({"aiohttp before the call": quiet, "real": type(made) is
                          AIOHttpFetcherBackend, "stand-in": stand_in is not AIOHttpFetcherBackend}))
        """
    )
    assert out == {"aiohttp before the call": False, "real": True, "stand-in": True}


def test_ades_gets_the_real_backend_when_aiohttp_fetchers_came_first():
    out = _run(
        """
        import json
        from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
        import emeterai
        from pyhanko.sign.validation import ades
        print(json.dumps({"real": ades.AIOHttpFetcherBackend is AIOHttpFetcherBackend}))
        """
    )
    assert out == {"real": True}


def _lazy_stand_ins() -> dict:
    from emeterai import _lazy

    return _lazy.STAND_INS


def test_the_deferred_pil_image_module_is_the_real_one_once_used():
    """reportlab imports PIL.Image while it is deferred; the first use runs it, and from then on
    it is PIL's own module: every name of it, images made, saved and opened again."""
    names = """
        import json
        from PIL import Image
        print(json.dumps(sorted(k for k in vars(Image) if not k.startswith("__"))))
    """
    real = _run(names)
    out = _run(
        """
        import io, json, sys
        import emeterai
        from emeterai import _lazy
        from reportlab.lib import utils
        deferred = _lazy.is_deferred(sys.modules["PIL.Image"])
        from PIL import Image
        im = Image.new("RGB", (3, 2), (204, 0, 115))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        again = Image.open(io.BytesIO(buf.getvalue()))
        print(json.dumps({
            "deferred at first": deferred, "ran": not _lazy.is_deferred(Image),
            "same module": sys.modules["PIL.Image"] is Image and utils.Image is Image,
            "reportlab sees an image": bool(utils._isPILImage(im)),
            "opened": [again.size, again.getpixel((0, 0))],
            "names": sorted(k for k in vars(Image) if not k.startswith("__")),
        }))
        """
    )
    assert out.pop("names") == real
    assert out == {
        "deferred at first": True,
        "ran": True,
        "same module": True,
        "reportlab sees an image": True,
        "opened": [[3, 2], [204, 0, 115]],
    }
