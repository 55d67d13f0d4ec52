"""The one place that reads pyHanko internals (tied to its version; ``tests/test_pyhanko_hooks.py``
is the contract test that fails first when an upgrade changes them).

pyHanko's reader knows, per revision, where each object lives, but exposes only which objects a
revision lists. The stamp's own-revision check needs every object of the document as it was just
before the stamp (number, generation, where it is), to find which of them refer to what.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InStream:
    """An object stored in an object stream: the stream's number and the member's index."""

    stream: int
    index: int


Location = int | InStream  # a byte offset in the file, or a place in an object stream


def live_objects(reader: Any, revision: int) -> dict[tuple[int, int], Location]:
    """(number, generation) -> location of every object that resolves at ``revision`` as pyHanko
    resolves it: a later section overrides an earlier one, a free entry removes only the
    generation it names, and within a revision the main section takes precedence over a hybrid
    file's cross-reference stream."""
    live: dict[tuple[int, int], Location] = {}
    for section in reader.xrefs._xref_sections[: revision + 1]:
        data = section.xref_data
        layers = [] if data.hybrid is None else [(data.hybrid.xref_data, False)]
        layers.append((data, True))
        for layer, main in layers:
            if main:
                for num, next_gen in layer.freed.items():
                    live.pop((num, next_gen - 1), None)
            for num, (gen, offset) in layer.standard_xrefs.items():
                live[(num, gen)] = offset
            for num, loc in layer.xrefs_in_objstm.items():
                live[(num, 0)] = InStream(loc.obj_stream_id, loc.ix_in_stream)
    return live
