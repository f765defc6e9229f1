#!/usr/bin/env python3
"""Draws the scanner app's icons (mobile/static/icons/icon-{192,512}.png): WeUI green, white
scan-frame corners and a check mark, all inside the maskable safe zone. Standard library only
(zlib + struct), so it runs anywhere: python3 scripts/app-icons.py"""
import math
import struct
import zlib
from pathlib import Path

GREEN = (0x07, 0xC1, 0x60)
WHITE = (0xFF, 0xFF, 0xFF)


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


# Strokes in a unit square: four corner brackets and a check mark (round caps).
LO, HI, ARM = 0.27, 0.73, 0.12
STROKES = [
    (LO, LO + ARM, LO, LO), (LO, LO, LO + ARM, LO),
    (HI - ARM, LO, HI, LO), (HI, LO, HI, LO + ARM),
    (LO, HI - ARM, LO, HI), (LO, HI, LO + ARM, HI),
    (HI - ARM, HI, HI, HI), (HI, HI, HI, HI - ARM),
    (0.38, 0.51, 0.47, 0.60), (0.47, 0.60, 0.63, 0.42),
]
WIDTH = 0.035  # half stroke width


def coverage(x, y, size, ss=3):
    hits = 0
    for i in range(ss):
        for j in range(ss):
            u = (x + (i + 0.5) / ss) / size
            v = (y + (j + 0.5) / ss) / size
            if any(seg_dist(u, v, *s) <= WIDTH for s in STROKES):
                hits += 1
    return hits / (ss * ss)


def near_stroke(x, y, size):
    u, v = (x + 0.5) / size, (y + 0.5) / size
    return any(seg_dist(u, v, *s) <= WIDTH + 1.5 / size for s in STROKES)


def draw(size):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            a = coverage(x, y, size) if near_stroke(x, y, size) else 0.0
            row += bytes(round(g + (w - g) * a) for g, w in zip(GREEN, WHITE))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "mobile" / "static" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(draw(size))
        print(out / f"icon-{size}.png", (out / f"icon-{size}.png").stat().st_size, "bytes")
