"""A smaller copy of a PDF for an upload portal's size cap, made BEFORE stamping (docs/shrink.md).

Changing a signed file breaks its signature, so signed and stamped files are refused. The work
is done by pikepdf (qpdf: object streams, recompressed streams, unused objects dropped) and
Pillow (images resampled and re-encoded); nothing here edits PDF bytes by hand.

Each level starts again from the original, from gentle to strong, and the first whose output
fits the cap is taken; without a cap the default level is used. Images are resampled only where
they carry more pixels than their largest displayed size needs at the level's dpi (measured by
following the page's content streams); 150 dpi with JPEG quality 60 is the floor, where scanned
text is still readable. Fonts and text are never touched, so the text stays searchable.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import enum
import io
import math
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emeterai.errors import EmeteraiError, Hint, OutputError, PdfError, first_line
from emeterai.i18n import N_
from emeterai.sizes import format_size

if TYPE_CHECKING:
    import pikepdf
    from PIL import Image

__all__ = ["LEVELS", "Level", "ShrinkResult", "shrink", "shrink_file"]


@dataclass(frozen=True)
class Level:
    """One step of the ladder: ``dpi`` None keeps every image as it is."""

    name: str
    dpi: int | None = None
    jpeg_quality: int = 85
    reencode_jpeg: bool = False  # also re-encode JPEGs that need no resampling (lower quality)

    def describe(self) -> str:
        if self.dpi is None:
            return "streams recompressed, unused objects removed"
        again = ", JPEGs re-encoded" if self.reencode_jpeg else ""
        return f"images above {self.dpi} dpi downsampled, JPEG quality {self.jpeg_quality}{again}"


LOSSLESS = Level("lossless")
LEVELS: tuple[Level, ...] = (
    LOSSLESS,
    Level("200dpi", dpi=200, jpeg_quality=85),
    Level("150dpi", dpi=150, jpeg_quality=75),
    Level("150dpi-q60", dpi=150, jpeg_quality=60, reencode_jpeg=True),
)
DEFAULT_LEVEL = LEVELS[1]  # without a cap: fit for print and screen, clearly smaller for scans

MAX_INFLATED = 256 * 1024**2  # a stream that inflates beyond this is refused (deflate bomb)
MAX_PIXELS = 100_000_000  # larger images are kept as they are
MIN_PIXELS = 64 * 64  # so are icons and rules: nothing to gain, edges to lose
_SLACK = 1.1  # resample only images more than 10 % above the target dpi
_MAX_FORM_DEPTH = 12


class Outcome(enum.StrEnum):
    """What the output is."""

    SHRUNK = "shrunk"  # a level made the file smaller
    UNCHANGED = "unchanged"  # nothing made it smaller: the output is the input, byte for byte


@dataclass(frozen=True)
class ShrinkResult:
    """A smaller copy (``data``), its sizes, what was done, and whether it fits ``max_size``."""

    file: str
    data: bytes = field(repr=False)
    size_before: int
    size_after: int
    max_size: int | None
    outcome: Outcome
    level: str | None
    dpi: int | None
    jpeg_quality: int | None
    images_resampled: int
    images_reencoded: int
    output: str | None = None

    @property
    def fits(self) -> bool:
        return self.max_size is None or self.size_after <= self.max_size

    @property
    def over_by(self) -> int:
        """Bytes above the cap (0 when it fits)."""
        return 0 if self.max_size is None else max(0, self.size_after - self.max_size)

    @property
    def done(self) -> str:
        """What was done, as a person reads it."""
        if self.outcome is Outcome.UNCHANGED:
            return "nothing made it smaller: an unchanged copy"
        quality = f"JPEG quality {self.jpeg_quality}"
        if self.images_resampled:
            text = f"{_images(self.images_resampled)} downsampled to {self.dpi} dpi"
            return text + (f", {quality}" if self.images_reencoded else "")
        if self.images_reencoded:
            return f"{_images(self.images_reencoded)} recompressed as {quality}"
        return LOSSLESS.describe()

    def summary(self) -> str:
        """``lamaran.pdf: 2.4 MB -> 612 KB (images downsampled to 150 dpi)``."""
        return (
            f"{self.file}: {format_size(self.size_before)} -> {format_size(self.size_after)}"
            f" ({self.done})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "output": self.output,
            "size_before": self.size_before,
            "size_after": self.size_after,
            "max_size": self.max_size,
            "fits": self.fits,
            "over_by": self.over_by,
            "outcome": self.outcome,
            "level": self.level,
            "dpi": self.dpi,
            "jpeg_quality": self.jpeg_quality,
            "images_resampled": self.images_resampled,
            "images_reencoded": self.images_reencoded,
            "done": self.done,
        }


def _images(count: int) -> str:
    return "1 image" if count == 1 else f"{count} images"


@dataclass(frozen=True)
class _Made:
    level: Level
    data: bytes
    resampled: int
    reencoded: int


def shrink(data: bytes, source: str, max_size: int | None = None) -> ShrinkResult:
    """A smaller copy of the PDF ``data``: the gentlest level that fits ``max_size`` (else the
    smallest output of all levels), or the default level when there is no cap. Raises PdfError
    for what cannot be shrunk safely: not a PDF, damaged, encrypted, signed or stamped."""
    import pikepdf

    _check_readable(data, source)
    levels = LEVELS if max_size is not None else (DEFAULT_LEVEL,)
    made: list[_Made] = []
    for level in levels:
        try:
            made.append(_apply(data, level))
        except EmeteraiError:
            raise
        except (pikepdf.PdfError, ValueError, TypeError, KeyError, RecursionError) as exc:
            raise PdfError(
                N_("cannot shrink the PDF ({reason})"), path=source, reason=first_line(exc)
            ) from exc
        if max_size is not None and len(made[-1].data) <= max_size:
            break
    fitting = [m for m in made if max_size is not None and len(m.data) <= max_size]
    best = fitting[0] if fitting else min(made, key=lambda m: len(m.data))
    if len(best.data) >= len(data):
        return ShrinkResult(
            source, data, len(data), len(data), max_size, Outcome.UNCHANGED, None, None, None, 0, 0
        )
    return ShrinkResult(
        source,
        best.data,
        len(data),
        len(best.data),
        max_size,
        Outcome.SHRUNK,
        best.level.name,
        best.level.dpi if best.resampled else None,
        best.level.jpeg_quality if best.reencoded else None,
        best.resampled,
        best.reencoded,
    )


def shrink_file(
    source: Path, output: Path, max_size: int | None = None, force: bool = False
) -> ShrinkResult:
    """Shrink the file ``source`` into ``output`` (written atomically; an existing one replaced
    only with ``force``). The input is never changed: an output that is the input is refused."""
    from emeterai._files import write_atomic
    from emeterai.stamp import read_input

    if _same_file(source, output):
        raise OutputError(
            N_("is the input: shrinking writes a new file and never changes the original"),
            path=output,
            hint=Hint.OUTPUT,
        )
    if output.exists() and not force:
        raise OutputError(N_("already exists"), path=output, hint=Hint.FORCE)
    result = shrink(read_input(source), str(source), max_size)
    write_atomic(output, result.data, overwrite=force)
    return ShrinkResult(**{**result.__dict__, "output": str(output)})


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and a.samefile(b))
    except OSError:
        return False


# -- refusals -------------------------------------------------------------------------------------


def _check_readable(data: bytes, source: str) -> None:
    """Refuse what cannot be shrunk without harm: a PDF qpdf had to repair may lose content, an
    encrypted one would be written without its protection, a signed one loses its signature."""
    import pikepdf

    if not data:
        raise PdfError(N_("the file is empty"), path=source)
    if b"%PDF-" not in data[:1024]:
        raise PdfError(N_("not a PDF (no %PDF- header)"), path=source)
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if pdf.is_encrypted:
                raise PdfError(
                    N_("the PDF is encrypted: shrink works on unprotected files only"), path=source
                )
            pages = len(pdf.pages)
            _refuse_signed(pdf, source)
            _refuse_bombs(pdf, source)
            warnings = [_clean_warning(w) for w in pdf.get_warnings()]
    except pikepdf.PasswordError:
        raise PdfError(
            N_("the PDF is encrypted: shrink works on unprotected files only"), path=source
        ) from None
    except EmeteraiError:
        raise
    except (pikepdf.PdfError, ValueError, TypeError, KeyError, RecursionError) as exc:
        reason = _clean_warning(str(exc))
        if "encryption" in reason:
            raise PdfError(
                N_("the PDF is encrypted ({reason}): shrink works on unprotected files only"),
                path=source,
                reason=reason,
            ) from exc
        raise PdfError(N_("cannot read the PDF ({reason})"), path=source, reason=reason) from exc
    if warnings:
        raise PdfError(
            N_("the PDF is damaged ({reason}): a rewritten copy could lose content"),
            path=source,
            reason=warnings[0],
        )
    if pages == 0:
        raise PdfError(N_("the PDF has no pages"), path=source)


def _clean_warning(text: str) -> str:
    """qpdf's message without the name of the in-memory stream it read."""
    text = text.splitlines()[0] if text else text
    if text.startswith("stream <") and ">" in text:
        text = text.split(">", 1)[1].lstrip(" ,:")
    return first_line(ValueError(text))


def _refuse_signed(pdf: pikepdf.Pdf, source: str) -> None:
    for name in _signed_fields(pdf):
        raise PdfError(
            N_(
                "already signed or stamped (signature field {name}): shrinking would break the"
                " signature; shrink the original before stamping it"
            ),
            path=source,
            name=repr(name),
        )


def _signed_fields(pdf: pikepdf.Pdf) -> Iterator[str]:
    """Names of signature fields holding a value (/V), in the form and on the pages' widgets."""
    import pikepdf

    seen: set[tuple[int, int]] = set()
    todo: list[Any] = []
    acroform = pdf.Root.get("/AcroForm")
    if isinstance(acroform, pikepdf.Dictionary):
        fields = acroform.get("/Fields")
        if isinstance(fields, pikepdf.Array):
            todo.extend(fields)
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if isinstance(annots, pikepdf.Array):
            todo.extend(annots)
    while todo:
        node = todo.pop()
        if not isinstance(node, pikepdf.Dictionary):
            continue
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        if _inherited(node, "/FT") == "/Sig" and _inherited(node, "/V") is not None:
            yield str(node.get("/T", "?"))
        kids = node.get("/Kids")
        if isinstance(kids, pikepdf.Array):
            todo.extend(kids)


def _inherited(node: Any, key: str) -> Any:
    for _ in range(32):
        if key in node:
            return node[key]
        node = node.get("/Parent")
        if node is None:
            return None
    return None


def _refuse_bombs(pdf: pikepdf.Pdf, source: str) -> None:
    """Every stream is decoded somewhere on the way (content parsing, images, recompression):
    one whose filter chain, at any stage, yields more than MAX_INFLATED is refused before any
    of that, and so is a chain that cannot be measured."""
    import pikepdf

    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        chain = _filter_chain(obj)
        names = " ".join(name for name, _ in chain)
        try:
            beyond = _decodes_beyond(obj.read_raw_bytes(), chain, MAX_INFLATED)
        except _Unmeasurable as exc:
            raise PdfError(
                N_(
                    "object {number} cannot be measured ({reason}): refused as a possible"
                    " decompression bomb"
                ),
                path=source,
                number=obj.objgen[0],
                reason=exc,
            ) from None
        if beyond:
            raise PdfError(
                N_(
                    "object {number} inflates to more than {size} through {filters}"
                    " (a decompression bomb?)"
                ),
                path=source,
                number=obj.objgen[0],
                size=format_size(MAX_INFLATED),
                filters=names,
            )


class _Unmeasurable(Exception):
    """A filter chain whose output cannot be bounded."""


class _Beyond(Exception):
    """A stage of a filter chain went past the cap."""


_Chunks = Iterable[bytes]
_CHUNK = 1 << 16
_WHITESPACE = b"\0\t\n\f\r "
_FLATE = frozenset({"/FlateDecode", "/Fl"})
_LZW = frozenset({"/LZWDecode", "/LZW"})
_HEX = frozenset({"/ASCIIHexDecode", "/AHx"})
_A85 = frozenset({"/ASCII85Decode", "/A85"})
_RUN_LENGTH = frozenset({"/RunLengthDecode", "/RL"})
# Image codecs: nothing here or in qpdf decodes them but Pillow, for images within MAX_PIXELS.
_IMAGE_CODECS = frozenset(
    {"/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode", "/CCF"}
)


def _filter_chain(stream: pikepdf.Stream) -> list[tuple[str, Any]]:
    """The stream's filters in decoding order, each with its /DecodeParms (or None)."""
    import pikepdf

    filters = stream.get("/Filter")
    names = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    parms = stream.get("/DecodeParms")
    params = list(parms) if isinstance(parms, pikepdf.Array) else [parms]
    params += [None] * (len(names) - len(params))
    return [
        (str(name) if isinstance(name, pikepdf.Name) else "?", param)
        for name, param in zip(names, params, strict=False)
    ]


def _decodes_beyond(raw: bytes, chain: list[tuple[str, Any]], limit: int) -> bool:
    """Whether any stage of ``chain`` decoding ``raw`` yields more than ``limit`` bytes. Stage
    by stage in chunks of 64 KiB, so memory stays small whatever the stream expands to. A broken
    stage counts what it yielded before breaking; predictors shrink data and are not applied,
    so one before another filter makes the chain unmeasurable."""
    chunks: _Chunks = (raw[i : i + _CHUNK] for i in range(0, len(raw), _CHUNK))
    for number, (name, param) in enumerate(chain):
        if name in _IMAGE_CODECS or not _decodes(name):
            break  # unknown filters are decoded by nobody
        if number < len(chain) - 1 and _predictor(param) > 1:
            raise _Unmeasurable(f"a predictor on {name} before another filter")
        chunks = _capped(_stage(name, param, chunks), limit)
    try:
        for _ in chunks:
            pass
    except _Beyond:
        return True
    return False


def _decodes(name: str) -> bool:
    return name in _FLATE | _LZW | _HEX | _A85 | _RUN_LENGTH


def _predictor(param: Any) -> int:
    import pikepdf

    if not isinstance(param, pikepdf.Dictionary):
        return 1
    value = param.get("/Predictor", 1)
    return int(value) if isinstance(value, int) else 2


def _stage(name: str, param: Any, chunks: _Chunks) -> Iterator[bytes]:
    import pikepdf

    if name in _FLATE:
        return _inflate(chunks)
    if name in _HEX:
        return _unhex(chunks)
    if name in _A85:
        return _unascii85(chunks)
    if name in _RUN_LENGTH:
        return _unrun(chunks)
    early = param.get("/EarlyChange", 1) if isinstance(param, pikepdf.Dictionary) else 1
    return _unlzw(chunks, 0 if early == 0 else 1)


def _capped(chunks: _Chunks, limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise _Beyond
        yield chunk


def _inflate(chunks: _Chunks) -> Iterator[bytes]:
    inflater = zlib.decompressobj()
    try:
        for chunk in chunks:
            data = chunk
            while True:
                out = inflater.decompress(data, _CHUNK)
                if out:
                    yield out
                data = inflater.unconsumed_tail
                if inflater.eof:
                    return
                if not data and len(out) < _CHUNK:
                    break
    except zlib.error:
        return


def _unhex(chunks: _Chunks) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        end = chunk.find(b">")
        text = pending + (chunk if end < 0 else chunk[:end]).translate(None, _WHITESPACE)
        whole = len(text) - len(text) % 2
        try:
            yield binascii.a2b_hex(text[:whole])
        except binascii.Error:
            return
        pending = text[whole:]
        if end >= 0:
            break
    if pending:
        with contextlib.suppress(binascii.Error):
            yield binascii.a2b_hex(pending + b"0")


def _unascii85(chunks: _Chunks) -> Iterator[bytes]:
    """ASCII85, where one ``z`` stands for four zero bytes."""
    pending = b""
    for chunk in chunks:
        end = chunk.find(b"~")
        text = (chunk if end < 0 else chunk[:end]).translate(None, _WHITESPACE)
        text = pending + text.replace(b"z", b"!!!!!")
        whole = len(text) - len(text) % 5
        try:
            yield base64.a85decode(text[:whole])
        except ValueError:
            return
        pending = text[whole:]
        if end >= 0:
            break
    if pending:
        with contextlib.suppress(ValueError):
            yield base64.a85decode(pending)


def _unrun(chunks: _Chunks) -> Iterator[bytes]:
    out = bytearray()
    pending = b""
    for chunk in chunks:
        data, at = pending + chunk, 0
        while at < len(data):
            length = data[at]
            if length == 128:
                yield bytes(out)
                return
            need = 2 if length > 128 else length + 2
            if at + need > len(data):
                break
            if length > 128:
                out += data[at + 1 : at + 2] * (257 - length)
            else:
                out += data[at + 1 : at + need]
            at += need
            if len(out) >= _CHUNK:
                yield bytes(out)
                out.clear()
        pending = data[at:]
    yield bytes(out)


def _unlzw(chunks: _Chunks, early: int) -> Iterator[bytes]:
    """LZW as PDF uses it (9 to 12 bit codes, 256 clears, 257 ends); a code it cannot have
    yet ends the stream, as qpdf refuses it."""
    table = [bytes([i]) for i in range(256)] + [b"", b""]
    width, bits, count = 9, 0, 0
    previous: bytes | None = None
    out = bytearray()
    for chunk in chunks:
        for byte in chunk:
            bits, count = (bits << 8) | byte, count + 8
            while count >= width:
                count -= width
                code = bits >> count
                bits &= (1 << count) - 1
                if code == 256:
                    del table[258:]
                    width, previous = 9, None
                    continue
                if code == 257:
                    yield bytes(out)
                    return
                if code < len(table):
                    entry = table[code]
                elif code == len(table) and previous is not None:
                    entry = previous + previous[:1]
                else:
                    yield bytes(out)
                    return
                if previous is not None and len(table) < 4096:
                    table.append(previous + entry[:1])
                    if len(table) + early >= 1 << width and width < 12:
                        width += 1
                previous = entry
                out += entry
                if len(out) >= _CHUNK:
                    yield bytes(out)
                    out.clear()
    yield bytes(out)


# -- one level ------------------------------------------------------------------------------------


def _apply(data: bytes, level: Level) -> _Made:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        resampled = reencoded = 0
        if level.dpi is not None:
            for image, shown_dpi in _shown_images(pdf).values():
                done = _shrink_image(image, shown_dpi, level)
                if done is not None:
                    resampled += done.resampled
                    reencoded += done.jpeg
        pdf.remove_unreferenced_resources()
        out = io.BytesIO()
        pdf.save(
            out,
            compress_streams=True,
            recompress_flate=True,
            object_stream_mode=pikepdf.ObjectStreamMode.generate,
        )
    return _Made(level, out.getvalue(), resampled, reencoded)


_Shown = dict[tuple[int, int], tuple["pikepdf.Stream", float]]


def _shown_images(pdf: pikepdf.Pdf) -> _Shown:
    """Each image XObject drawn by a page's content, with the lowest dpi it is shown at (its
    largest use). Images drawn only elsewhere (annotations, patterns) are not listed."""
    import pikepdf

    shown: _Shown = {}
    for page in pdf.pages:
        try:
            _walk(page.obj, _inherited(page.obj, "/Resources"), _identity(), shown, 0)
        except pikepdf.PdfError:
            continue  # content qpdf cannot parse: its images are kept as they are
    return shown


def _identity() -> pikepdf.Matrix:
    import pikepdf

    return pikepdf.Matrix()


def _walk(
    content: Any,
    resources: Any,
    ctm: pikepdf.Matrix,
    shown: _Shown,
    depth: int,
) -> None:
    import pikepdf

    if depth > _MAX_FORM_DEPTH or not isinstance(resources, pikepdf.Dictionary):
        return
    xobjects = resources.get("/XObject")
    stack: list[pikepdf.Matrix] = []
    for instruction in pikepdf.parse_content_stream(content, "q Q cm Do"):
        if not isinstance(instruction, pikepdf.ContentStreamInstruction):
            continue
        operands, op = instruction.operands, str(instruction.operator)
        if op == "q":
            stack.append(ctm)
        elif op == "Q":
            ctm = stack.pop() if stack else ctm
        elif op == "cm" and len(operands) == 6:
            ctm = pikepdf.Matrix(*(float(v) for v in operands)) @ ctm
        elif (
            op == "Do"
            and operands
            and isinstance(operands[0], pikepdf.Name)
            and isinstance(xobjects, pikepdf.Dictionary)
        ):
            xobject = xobjects.get(operands[0])
            if not isinstance(xobject, pikepdf.Stream) or not xobject.is_indirect:
                continue
            subtype = xobject.get("/Subtype")
            if subtype == "/Image":
                _note_image(xobject, ctm, shown)
            elif subtype == "/Form":
                matrix = xobject.get("/Matrix")
                inner = ctm
                if isinstance(matrix, pikepdf.Array) and len(matrix) == 6:
                    inner = pikepdf.Matrix(*(float(v) for v in matrix)) @ ctm
                _walk(xobject, xobject.get("/Resources", resources), inner, shown, depth + 1)


def _note_image(image: pikepdf.Stream, ctm: pikepdf.Matrix, shown: _Shown) -> None:
    width_pt, height_pt = math.hypot(ctm.a, ctm.b), math.hypot(ctm.c, ctm.d)
    width_px, height_px = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    if width_pt <= 0 or height_pt <= 0 or width_px <= 0 or height_px <= 0:
        return
    dpi = min(width_px / (width_pt / 72), height_px / (height_pt / 72))
    known = shown.get(image.objgen)
    shown[image.objgen] = (image, dpi if known is None else min(dpi, known[1]))


# -- one image ------------------------------------------------------------------------------------


def _is_jpeg(image: pikepdf.Stream) -> bool:
    import pikepdf

    filters = image.get("/Filter")
    names = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
    return any(name == "/DCTDecode" for name in names)


@dataclass(frozen=True)
class _ImageDone:
    resampled: bool
    jpeg: bool  # written as JPEG


def _shrink_image(image: pikepdf.Stream, shown_dpi: float, level: Level) -> _ImageDone | None:
    """Resample ``image`` to ``level.dpi`` at its displayed size and re-encode it (JPEG for
    photographs, Flate for drawings); returns what was done, None when it was kept. Colours
    are counted on the source: the resampling blends edges into new colours, and a drawing or
    a text scan taken for a photograph would be blurred by JPEG."""
    import pikepdf

    assert level.dpi is not None
    resample = shown_dpi > level.dpi * _SLACK
    was_jpeg = _is_jpeg(image)
    if not resample and not (was_jpeg and level.reencode_jpeg) and was_jpeg:
        return None
    picture = _decodable(image)
    if picture is None:
        return None
    photographic = was_jpeg or picture.getcolors(maxcolors=1024) is None  # before resampling
    if resample:
        factor = level.dpi / shown_dpi
        size = (max(1, round(picture.width * factor)), max(1, round(picture.height * factor)))
        picture = picture.resize(size, _lanczos())
    raw_length = len(image.read_raw_bytes())
    if photographic:
        buf = io.BytesIO()
        picture.save(buf, format="JPEG", quality=level.jpeg_quality, optimize=True)
        encoded, filter_name = buf.getvalue(), pikepdf.Name.DCTDecode
    elif resample:
        encoded, filter_name = zlib.compress(picture.tobytes(), 9), pikepdf.Name.FlateDecode
    else:
        return None  # a drawing at its size: qpdf's recompression is all it needs
    if len(encoded) >= raw_length:
        return None
    image.write(encoded, filter=filter_name)
    image.Width, image.Height = picture.width, picture.height
    image.BitsPerComponent = 8
    if "/DecodeParms" in image:
        del image["/DecodeParms"]
    return _ImageDone(resampled=resample, jpeg=filter_name == pikepdf.Name.DCTDecode)


def _lanczos() -> Image.Resampling:
    from PIL import Image

    return Image.Resampling.LANCZOS


def _decodable(image: pikepdf.Stream) -> Image.Image | None:
    """The image as RGB or grey 8-bit pixels, or None for what is kept as it is: masks,
    transparency, CMYK and special colour spaces, /Decode arrays, other bit depths, huge sizes."""
    import pikepdf
    from PIL import Image as PILImage

    if any(key in image for key in ("/SMask", "/Mask", "/Decode", "/SMaskInData")):
        return None
    if image.get("/ImageMask", False) or int(image.get("/BitsPerComponent", 0)) != 8:
        return None
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    if not MIN_PIXELS <= width * height <= MAX_PIXELS:
        return None
    if not _plain_colours(image.get("/ColorSpace")):
        return None
    try:
        picture = pikepdf.PdfImage(image).as_pil_image()
    except (
        pikepdf.PdfError,
        NotImplementedError,
        ValueError,
        OSError,
        PILImage.DecompressionBombError,
    ):
        return None
    if picture.mode not in ("RGB", "L") or picture.size != (width, height):
        return None
    return picture


def _plain_colours(space: Any) -> bool:
    """RGB or grey, device or ICC-based: what JPEG and Flate pixels keep as they are."""
    import pikepdf

    if space in ("/DeviceRGB", "/DeviceGray"):
        return True
    return (
        isinstance(space, pikepdf.Array)
        and len(space) == 2
        and space[0] == "/ICCBased"
        and isinstance(space[1], pikepdf.Stream)
        and int(space[1].get("/N", 0)) in (1, 3)
    )
