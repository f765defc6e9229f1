#!/usr/bin/env python3
"""Builds the shipped fallback font, assets/fonts/NotoSerifSC-Regular-GB2312.otf.

The server prefers Debian's full Noto Serif CJK SC (package fonts-noto-cjk) at run time. When
that is absent it falls back to this subset, so the subset must hold every character a
certificate can print: all of GB 2312 (6763 hanzi and its symbols), printable ASCII, the
punctuation our layout uses, and every character of the demo register (which has a few
outside GB 2312).

Needs: apt-get install fonts-noto-cjk; pip install fonttools.
Run from the repository root: python3 scripts/subset-font.py
"""
import json
import pathlib
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SC_INDEX = 2  # the collection's faces: JP, KR, SC, TC, HK
OUT = pathlib.Path("assets/fonts/NotoSerifSC-Regular-GB2312.otf")
EXTRA = "·—…“”‘’（）：；，。、《》【】〇％℃±×÷№－　"


def gb2312_chars():
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    register = (root / "assets/demo/register.json").read_text(encoding="utf-8")
    chars = gb2312_chars() | {chr(c) for c in range(0x20, 0x7F)} | set(EXTRA)
    chars |= {c for c in register if ord(c) > 0x7F}
    font = TTCollection(SOURCE).fonts[SC_INDEX]
    name = font["name"].getDebugName(4)
    if name != "Noto Serif CJK SC":
        sys.exit(f"face {SC_INDEX} of {SOURCE} is {name!r}, expected Noto Serif CJK SC")
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = False
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(unicodes=sorted(ord(c) for c in chars))
    sub.subset(font)
    cmap = font.getBestCmap()
    missing = [c for c in chars if ord(c) not in cmap]
    if missing:
        sys.exit(f"the source font lacks {''.join(sorted(missing))}")
    out = root / OUT
    font.save(out)
    print(f"{out}: {len(chars)} characters, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
