"""An independent signature check with Apache PDFBox 2 and BouncyCastle (Debian's packages).

``pdfbox_check(path)`` runs tests/support/java/PdfBoxCheck.java (after PDFBox's ShowSignature
example) and returns its lines: ``OK <field> <subfilter> <whole|revision>`` or
``FAIL <field> <reason>`` per signature, then ``DSS certs=N crls=M`` or ``NODSS``. The program is
compiled once per test process into a temporary folder. Without java, javac or the jars the test
is skipped locally and fails under CI (``apt-get install libpdfbox2-java libbcpkix-java
libbcprov-java default-jdk-headless``).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.common import _missing, require_tool

SOURCE = Path(__file__).with_name("java") / "PdfBoxCheck.java"
JARS = {  # Debian's file names under /usr/share/java, and the package that installs each
    "pdfbox2.jar": "libpdfbox2-java",
    "fontbox2.jar": "libfontbox2-java",  # a dependency of libpdfbox2-java
    "commons-logging.jar": "libcommons-logging-java",  # a dependency of libpdfbox2-java
    "bcprov.jar": "libbcprov-java",
    "bcpkix.jar": "libbcpkix-java",
    "bcutil.jar": "libbcutil-java",  # a dependency of libbcpkix-java
}
JAVA_DIR = Path("/usr/share/java")


def _classpath() -> str:
    missing = [
        f"{jar} ({package})" for jar, package in JARS.items() if not (JAVA_DIR / jar).is_file()
    ]
    if missing:
        _missing(f"PDFBox check needs {', '.join(missing)} in {JAVA_DIR}")
    return ":".join(str(JAVA_DIR / jar) for jar in JARS)


@functools.cache
def _compiled() -> Path:
    """The folder holding PdfBoxCheck.class, compiled on first use and removed at exit."""
    javac = require_tool("javac")
    folder = Path(tempfile.mkdtemp(prefix="pdfbox-check-"))
    atexit.register(shutil.rmtree, folder, True)
    done = subprocess.run(
        [javac, "-d", str(folder), "-cp", _classpath(), str(SOURCE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"javac failed:\n{done.stderr}"
    return folder


def pdfbox_check(path: Path) -> list[str]:
    """PDFBox's and BouncyCastle's verdict on every signature of ``path``, and its DSS."""
    java = require_tool("java")
    classes = _compiled()
    done = subprocess.run(
        [java, "-cp", f"{classes}:{_classpath()}", "PdfBoxCheck", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"PdfBoxCheck failed on {path}:\n{done.stdout}{done.stderr}"
    return done.stdout.splitlines()
