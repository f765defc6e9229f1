#!/usr/bin/env python3
"""Where the scanner app's wasm bytes go: code and data per crate, raw and gzipped.

    python3 mobile/bench/wasm_size.py MODULE.wasm [--top N] [--crate NAME]

MODULE is cargo's output before wasm-opt and wasm-bindgen
(`$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/zizhi-app.wasm`): it still has its
`name` section (function and data segment names; the profile strips debug info only). For
data to be attributed to a crate, link without merging data segments:

    cargo rustc -p zizhi-app --target wasm32-unknown-unknown --profile wasm-release \\
      -- -C link-arg=--no-merge-data-segments

Prints the sections, then one row per crate (the first path segment of the demangled name,
`<impl …>` resolved to the type's crate): functions, code bytes, code gzipped on its own,
data bytes, data gzipped on its own. A crate's bytes gzipped alone are a fair guide to
what removing it saves from the gzipped module, not an exact share (gzip's window spans
crates). `--crate NAME` lists that crate's largest functions and data instead.
No dependencies beyond Python 3.
"""

import argparse
import collections
import gzip
import re
import sys


def leb(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def sections(buf):
    if buf[:4] != b"\0asm":
        sys.exit("not a wasm module")
    pos = 8
    while pos < len(buf):
        sid = buf[pos]
        size, body = leb(buf, pos + 1)
        yield sid, buf[body : body + size], size + (body - pos)
        pos = body + size


def name_of(payload):
    n, pos = leb(payload, 0)
    return payload[pos : pos + n].decode("utf-8", "replace"), pos + n


def name_map(data, pos):
    count, pos = leb(data, pos)
    out = {}
    for _ in range(count):
        idx, pos = leb(data, pos)
        n, pos = leb(data, pos)
        out[idx] = data[pos : pos + n].decode("utf-8", "replace")
        pos += n
    return out


def demangle_legacy(sym):
    """`_ZN4core3fmt5write17h…E` → `core::fmt::write` (legacy Rust mangling, hash dropped)."""
    m = re.match(r"_ZN(.*)E$", sym)
    if not m:
        return sym
    s, parts, i = m.group(1), [], 0
    while i < len(s) and s[i].isdigit():
        j = i
        while s[j].isdigit():
            j += 1
        n = int(s[i:j])
        parts.append(s[j : j + n])
        i = j + n
    if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
        parts.pop()
    text = "::".join(p[1:] if p.startswith("_$") else p for p in parts)
    for code, ch in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","),
                     ("$RF$", "&"), ("$BP$", "*"), ("..", "::"), ("$u7b$", "{"),
                     ("$u7d$", "}"), ("$u5b$", "["), ("$u5d$", "]"), ("$u27$", "'")):
        text = text.replace(code, ch)
    return text


PRIMITIVES = {"u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
              "isize", "f32", "f64", "bool", "char", "str"}


def crate_v0(sym):
    """The first crate root of a v0-mangled symbol (`_R…C<disambiguator>_<len><name>…`)."""
    m = re.search(r"C(?:s[0-9A-Za-z]*_)?(\d+)", sym[2:])
    if not m:
        return "?"
    start = 2 + m.end()
    return sym[start : start + int(m.group(1))].lstrip("_")


def crate_of(name):
    name = re.sub(r"^\.(rodata|data|bss|tdata)\.", "", name)
    if name.startswith("_R"):
        return crate_v0(name)
    name = demangle_legacy(name)
    # `<T as Trait>::f` and `<impl …>` belong to the crate of the type, or of the trait when
    # the type is a generic parameter or a primitive.
    bare = re.sub(r"^[<&*\[( ]+|^(mut|dyn|const) ", "", name)
    bare = re.sub(r"^[<&*\[( ]+|^(mut|dyn|const) ", "", bare)
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", bare)
    if not m:
        return "?"
    crate = m.group(0)
    if (len(crate) == 1 or crate in PRIMITIVES) and " as " in name:
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", name.split(" as ", 1)[1].lstrip("&*<"))
        crate = m.group(0) if m else crate
    if crate.startswith("L__unnamed") or crate in ("anon", "str"):
        return "(unnamed)"
    return crate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("wasm")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--crate")
    args = ap.parse_args()
    buf = open(args.wasm, "rb").read()

    n_imported = 0
    bodies, segments, fnames, dnames = [], [], {}, {}
    print(f"{'section':<22}{'bytes':>10}{'gzip -9':>10}")
    for sid, payload, total in sections(buf):
        label = {1: "type", 2: "import", 3: "function", 4: "table", 5: "memory", 6: "global",
                 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "datacount"}.get(sid)
        if sid == 0:
            cname, _ = name_of(payload)
            label = f"custom {cname}"[:21]
        print(f"{label:<22}{total:>10}{len(gzip.compress(payload, 9)):>10}")
        if sid == 2:
            count, pos = leb(payload, 0)
            for _ in range(count):
                # Module and field names, then the kind.
                n, pos = leb(payload, pos)
                pos += n
                n, pos = leb(payload, pos)
                pos += n
                kind = payload[pos]
                pos += 1
                if kind == 0:
                    n_imported += 1
                    _, pos = leb(payload, pos)
                elif kind == 1:
                    pos += 1
                    flags, pos = leb(payload, pos)
                    _, pos = leb(payload, pos)
                    if flags & 1:
                        _, pos = leb(payload, pos)
                elif kind == 2:
                    flags, pos = leb(payload, pos)
                    _, pos = leb(payload, pos)
                    if flags & 1:
                        _, pos = leb(payload, pos)
                elif kind == 3:
                    pos += 2
                else:
                    sys.exit(f"import kind {kind} not handled")
        elif sid == 10:
            count, pos = leb(payload, 0)
            for _ in range(count):
                size, start = leb(payload, pos)
                bodies.append(payload[start : start + size])
                pos = start + size
        elif sid == 11:
            count, pos = leb(payload, 0)
            for _ in range(count):
                flags, pos = leb(payload, pos)
                if flags == 2:
                    _, pos = leb(payload, pos)
                if flags in (0, 2):
                    # Constant offset expression, up to `end`.
                    while payload[pos] != 0x0B:
                        pos += 1
                    pos += 1
                size, pos = leb(payload, pos)
                segments.append(payload[pos : pos + size])
                pos += size
        elif sid == 0 and name_of(payload)[0] == "name":
            _, pos = name_of(payload)
            while pos < len(payload):
                sub = payload[pos]
                size, start = leb(payload, pos + 1)
                if sub == 1:
                    fnames = name_map(payload, start)
                elif sub == 9:
                    dnames = name_map(payload, start)
                pos = start + size
    print(f"{'whole module':<22}{len(buf):>10}{len(gzip.compress(buf, 9)):>10}")
    if not fnames:
        print("no name section: give cargo's output, before wasm-opt")
        return

    code = collections.defaultdict(list)
    data = collections.defaultdict(list)
    for i, body in enumerate(bodies):
        name = fnames.get(i + n_imported, f"func{i}")
        code[crate_of(name)].append((len(body), demangle_legacy(name), body))
    for i, seg in enumerate(segments):
        name = dnames.get(i, f"data{i}")
        data[crate_of(name) if dnames else "(all data)"].append((len(seg), name, seg))

    if args.crate:
        for title, rows in (("code", code[args.crate]), ("data", data[args.crate])):
            print(f"\n{args.crate}: largest {title}")
            for size, name, _ in sorted(rows, reverse=True)[: args.top]:
                print(f"{size:>9}  {name[:110]}")
        return

    crates = set(code) | set(data)
    rows = []
    for c in crates:
        cb = b"".join(b for _, _, b in code[c])
        db = b"".join(b for _, _, b in data[c])
        rows.append((len(cb) + len(db), c, len(code[c]), len(cb),
                     len(gzip.compress(cb, 9)) if cb else 0, len(db),
                     len(gzip.compress(db, 9)) if db else 0))
    rows.sort(reverse=True)
    print(f"\n{'crate':<28}{'fns':>6}{'code':>9}{'code gz':>9}{'data':>9}{'data gz':>9}")
    for _, c, nf, cb, cg, db, dg in rows[: args.top]:
        print(f"{c:<28}{nf:>6}{cb:>9}{cg:>9}{db:>9}{dg:>9}")
    rest = rows[args.top :]
    if rest:
        print(f"{'(' + str(len(rest)) + ' more)':<28}{sum(r[2] for r in rest):>6}"
              f"{sum(r[3] for r in rest):>9}{sum(r[4] for r in rest):>9}"
              f"{sum(r[5] for r in rest):>9}{sum(r[6] for r in rest):>9}")


if __name__ == "__main__":
    main()
