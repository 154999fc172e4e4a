#!/usr/bin/env python3
"""Writes the seed layers of fuzz_unpack into corpus/unpack/: ordinary
entries of every type, whiteouts, compressions, and the hostile shapes
(breakouts) whose handling the fuzzer should mutate around."""
import bz2, gzip, io, lzma, os, sys, tarfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "unpack")


def entry(name, kind=tarfile.REGTYPE, data=b"", link="", mode=0o644, **kw):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = kind, link, mode, 1000000000
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti, data


def tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()


D, L, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
SEEDS = {
    "basic": [entry("./", D, mode=0o755), entry("etc/", D, mode=0o755),
              entry("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
              entry("bin/sh", data=b"#!/bin/true\n", mode=0o4755, uid=0, gid=0),
              entry("bin/ash", L, link="sh"), entry("bin/link", H, link="bin/sh"),
              entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
              entry("run/fifo", tarfile.FIFOTYPE, mode=0o600)],
    "whiteouts": [entry("a/", D), entry("a/.wh.b"), entry("a/.wh..wh..opq"),
                  entry(".wh..wh.plnk/1"), entry("c/.wh.d")],
    "pax-xattrs": [entry("f", data=b"x", pax_headers={
        "SCHILY.xattr.user.k": "v", "SCHILY.xattr.trusted.overlay.opaque": "y",
        "SCHILY.xattr.security.capability": "\x01\x00\x00\x02"})],
    "gnu-longname": [entry("d/" + "n" * 200, data=b"long")],
    "sparse-size": [entry("big", data=b"abc")],
    # Hostile shapes: each must fail or stay inside the layer.
    "symlink-escape": [entry("etc", L, link="/etc"), entry("etc/passwd", data=b"pwned\n")],
    "symlink-rel-escape": [entry("up", L, link="../../../../"), entry("up/pwned", data=b"x")],
    "hardlink-escape": [entry("pw", H, link="../../../etc/passwd")],
    "hardlink-abs": [entry("pw", H, link="/etc/passwd")],
    "dotdot-name": [entry("../escape", data=b"x")],
    "abs-name": [entry("/abs", data=b"x")],
    "dir-then-symlink": [entry("d/", D, mode=0o700), entry("d", L, link="/"),
                         entry("d/x", data=b"x")],
    "chmod-through-symlink": [entry("s", L, link="/tmp"), entry("s", D, mode=0o777)],
    "whiteout-dotdot": [entry("a/.wh..."), entry(".wh.."), entry("l", L, link="/"),
                        entry("l/.wh.etc")],
    "root-symlink": [entry(".", L, link="/tmp")],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, ents in SEEDS.items():
        raw = tar(ents)
        with open(os.path.join(OUT, name + ".tar"), "wb") as f:
            f.write(raw)
    raw = tar(SEEDS["basic"], tarfile.GNU_FORMAT)
    for ext, comp in (("gz", gzip.compress), ("bz2", bz2.compress), ("xz", lzma.compress)):
        with open(os.path.join(OUT, "basic-gnu.tar." + ext), "wb") as f:
            f.write(comp(raw))
    with open(os.path.join(OUT, "ustar.tar"), "wb") as f:
        f.write(tar(SEEDS["basic"][:4], tarfile.USTAR_FORMAT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
