#!/usr/bin/env python3
"""Robustness benchmark: decode rate per category and median time per image for zizhi-scan,
zbarimg and zxing-cpp on the photos made by `generate` (see scan/bench/README.md).

    python3 scan/bench/compare.py scan/bench/out [--zizhi target/release/zizhi-scan]

A photo counts as decoded only when the decoder returns exactly the text in truth.tsv.

Times (milliseconds, median over the images of a row):
- zizhi-scan: `decode()` on the already-loaded image, as the CLI's `--timings` reports it
  (grey conversion included, file reading and JPEG decoding not);
- zxing-cpp: `read_barcodes()` on the already-loaded PIL image (grey conversion included), QR
  codes only, library defaults otherwise (try harder, rotate, downscale, invert);
- zbarimg: wall time of one `zbarimg` process per file (QR only), so it includes process start
  and JPEG decoding; it is shown for scale, not compared like for like.

Writes OUT/results.tsv (one row a file: which decoder read it, times) for looking at failures.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

from PIL import Image

try:
    import zxingcpp
except ImportError:  # pragma: no cover - printed for the person running it
    zxingcpp = None


def load_truth(out):
    rows = []
    with open(os.path.join(out, "truth.tsv"), encoding="utf-8") as f:
        for line in f:
            rel, category, text = line.rstrip("\n").split("\t")
            rows.append((os.path.join(out, rel), category, text))
    return rows


def run_zizhi(binary, files):
    """{file: (text or None, ms)} from one `zizhi-scan --timings` run over all files."""
    found, times = {}, {}
    for start in range(0, len(files), 200):
        chunk = files[start : start + 200]
        proc = subprocess.run(
            [binary, "--timings", *chunk], capture_output=True, text=True, check=False
        )
        if proc.returncode not in (0, 1):
            sys.exit(f"zizhi-scan failed ({proc.returncode}): {proc.stderr[-2000:]}")
        for line in proc.stdout.splitlines():
            parts = line.split("\t")
            found[parts[0]] = parts[2] if len(parts) >= 3 and parts[1] == "OK" else None
        names = set(chunk)
        for line in proc.stderr.splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0] in names:
                try:
                    times[parts[0]] = float(parts[1])
                except ValueError:
                    pass
    return {f: (found.get(f), times.get(f, float("nan"))) for f in files}


def run_zbar(files):
    out = {}
    for f in files:
        t0 = time.perf_counter()
        proc = subprocess.run(
            ["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", f],
            capture_output=True,
            check=False,
        )
        ms = (time.perf_counter() - t0) * 1000
        texts = proc.stdout.decode("utf-8", "replace").splitlines()
        out[f] = (texts, ms)
    return out


def run_zxing(files):
    out = {}
    for f in files:
        img = Image.open(f)
        img.load()
        t0 = time.perf_counter()
        codes = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
        ms = (time.perf_counter() - t0) * 1000
        out[f] = ([c.text for c in codes], ms)
    return out


def pct(ok, n):
    return f"{100 * ok / n:.0f}%" if n else "-"


def med(values):
    values = [v for v in values if v == v]
    return f"{statistics.median(values):.0f}" if values else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="directory written by the generator (with truth.tsv)")
    ap.add_argument("--zizhi", default=None, help="zizhi-scan binary (default: release build)")
    ap.add_argument("--skip", action="append", default=[], choices=["zbar", "zxing"])
    args = ap.parse_args()

    rows = load_truth(args.out)
    files = [r[0] for r in rows]
    binary = args.zizhi or os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "zizhi-scan"
    )
    results = {"zizhi-scan": {}, "zbar": {}, "zxing-cpp": {}}
    for f, (text, ms) in run_zizhi(binary, files).items():
        results["zizhi-scan"][f] = ([text] if text else [], ms)
    if "zbar" not in args.skip:
        results["zbar"] = run_zbar(files)
    if "zxing" not in args.skip:
        if zxingcpp is None:
            sys.exit("pip install -r scan/bench/requirements.txt (zxing-cpp is missing)")
        results["zxing-cpp"] = run_zxing(files)
    tools = [t for t in results if results[t]]

    by_cat = defaultdict(list)
    for r in rows:
        by_cat[r[1]].append(r)
    by_cat["all"] = rows

    header = "| category | n | " + " | ".join(f"{t} rate" for t in tools)
    header += " | " + " | ".join(f"{t} ms" for t in tools) + " |"
    print(header)
    print("|" + "---|" * (2 + 2 * len(tools)))
    for cat, cat_rows in by_cat.items():
        n = len(cat_rows)
        rates, times = [], []
        for t in tools:
            ok = sum(1 for f, _, text in cat_rows if text in results[t][f][0])
            rates.append(pct(ok, n))
            times.append(med([results[t][f][1] for f, _, _ in cat_rows]))
        name = f"**{cat}**" if cat == "all" else cat
        print(f"| {name} | {n} | " + " | ".join(rates) + " | " + " | ".join(times) + " |")

    with open(os.path.join(args.out, "results.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tcategory\t" + "\t".join(f"{t}\t{t}_ms" for t in tools) + "\n")
        for path, cat, text in rows:
            cells = []
            for t in tools:
                texts, ms = results[t][path]
                cells += ["1" if text in texts else "0", f"{ms:.1f}"]
            f.write(f"{os.path.relpath(path, args.out)}\t{cat}\t" + "\t".join(cells) + "\n")


if __name__ == "__main__":
    main()
