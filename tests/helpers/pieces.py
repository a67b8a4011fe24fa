"""Feeding a decoder a byte stream in pieces, as a serial or TCP read delivers it.

Every decoder must give the same readings whatever the boundaries of the reads (a replayed
capture arrives in other pieces than the live stream did), and must never raise on damaged
bytes; the protocol tests check both by feeding the stream cut in pieces, through this helper.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from devices.protocol import Decoder
from devices.reading import Sample


def feed_in_pieces(decoder: Decoder, data: bytes, cuts: Iterable[int], t0: float = 0.0,
                   step: float = 0.0, *, rest_at: float | None = None,
                   talk: bool = False) -> list[Sample]:
    """Everything `decoder` makes of `data` fed in pieces of the lengths in `cuts`, then the
    rest as one last piece (a length past the end gives an empty read, as a quiet port does).

    Piece i is fed at `t0 + i * step`; the rest at `rest_at` if given, else at the next step.
    With `talk`, the decoder's `outgoing` is asked after every piece, as the link does.
    """
    out: list[Sample] = []
    pos, t = 0, t0
    for c in cuts:
        out += decoder.feed(data[pos : pos + c], t)
        if talk:
            decoder.outgoing(t)
        pos += c
        t += step
    t = t if rest_at is None else rest_at
    out += decoder.feed(data[pos:], t)
    if talk:
        decoder.outgoing(t)
    return out


def lengths_at(offsets: Iterable[int], size: int) -> Sequence[int]:
    """Piece lengths for cuts given as offsets into a stream of `size` bytes (each taken modulo
    size + 1, duplicates and order ignored)."""
    points = sorted({o % (size + 1) for o in offsets})
    return [b - a for a, b in zip([0, *points], points, strict=False)]
