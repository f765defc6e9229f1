#!/usr/bin/env python3
"""Builds the shipped fallback fonts in assets/fonts/.

The server prefers Debian's fonts at run time: Noto Serif CJK SC (fonts-noto-cjk), then, for
the characters it lacks, HanaMinA and HanaMinB (fonts-hanazono) and BabelStone Han
(fonts-babelstone-han). For machines without them it embeds these subsets, so together they
must hold every character a certificate of the demo register and the tests prints:

- NotoSerifSC-Regular-GB2312.otf: all of GB 2312 (6763 hanzi and its symbols), printable
  ASCII, the punctuation our layout uses, and every character of the demo register and of
  assets/demo/rare-names.txt that Noto Serif CJK SC has;
- HanaMinA-Rare.ttf, HanaMinB-Rare.ttf, BabelStoneHan-Rare.ttf: the characters of the demo
  register and of assets/demo/rare-names.txt outside GB 2312 that each of those fonts has
  (the chain picks, per character, the first face that has it).

Needs: apt-get install fonts-noto-cjk fonts-hanazono fonts-babelstone-han; pip install fonttools.
Run from anywhere: python3 scripts/subset-font.py
"""
import pathlib
import sys

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

NOTO = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SC_INDEX = 2  # the collection's faces: JP, KR, SC, TC, HK
EXTRA = "·—…“”‘’（）：；，。、《》【】〇％℃±×÷№－　"
# (source, output, what the family must be called)
CHAIN = [
    ("/usr/share/fonts/truetype/hanazono/HanaMinA.ttf", "HanaMinA-Rare.ttf", "HanaMinA"),
    ("/usr/share/fonts/truetype/hanazono/HanaMinB.ttf", "HanaMinB-Rare.ttf", "HanaMinB"),
    (
        "/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf",
        "BabelStoneHan-Rare.ttf",
        "BabelStone Han",
    ),
]


def gb2312_chars():
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def options():
    o = subset.Options()
    o.hinting = False
    o.desubroutinize = False
    o.layout_features = ["*"]
    o.name_IDs = ["*"]
    o.notdef_outline = True
    return o


def cut(font, chars, out):
    """Subsets `font` to those of `chars` it has; returns the ones it has."""
    have = {c for c in chars if ord(c) in font.getBestCmap()}
    sub = subset.Subsetter(options())
    sub.populate(unicodes=sorted(ord(c) for c in have))
    sub.subset(font)
    font.save(out)
    print(f"{out}: {len(have)} characters, {out.stat().st_size} bytes")
    return have


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    fonts = root / "assets/fonts"
    register = (root / "assets/demo/register.json").read_text(encoding="utf-8")
    names = "".join(
        line.split("\t", 1)[1]
        for line in (root / "assets/demo/rare-names.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    wanted = {c for c in register + names if ord(c) > 0x7F}
    base = gb2312_chars() | {chr(c) for c in range(0x20, 0x7F)} | set(EXTRA)

    noto = TTCollection(NOTO).fonts[SC_INDEX]
    name = noto["name"].getDebugName(4)
    if name != "Noto Serif CJK SC":
        sys.exit(f"face {SC_INDEX} of {NOTO} is {name!r}, expected Noto Serif CJK SC")
    lacking = base - set(chr(c) for c in noto.getBestCmap())
    if lacking:
        sys.exit(f"Noto Serif CJK SC lacks {''.join(sorted(lacking))}")
    covered = cut(noto, base | wanted, fonts / "NotoSerifSC-Regular-GB2312.otf")

    rare = wanted - gb2312_chars()
    for source, out, family in CHAIN:
        font = TTFont(source)
        if font["name"].getDebugName(1) != family:
            sys.exit(f"{source} is {font['name'].getDebugName(1)!r}, expected {family!r}")
        # Only what the faces before it lack: the chain never reaches the rest.
        covered |= cut(font, rare - covered, fonts / out)
    missing = wanted - covered
    if missing:
        sys.exit(f"no font of the chain has {''.join(sorted(missing))}")


if __name__ == "__main__":
    main()
