#!/usr/bin/env python3
"""Hostile image archives for the security tests, built entry by entry.

  mkarchive.py docker OUT.tar SPEC.py   docker-archive (docker save < 25)
  mkarchive.py layer OUT.tar SPEC.py    one layer tar

SPEC.py is python run with these names defined:
  layer(*entries) -> bytes           a layer tar; entries from f/d/l/h/wh
  f(name, data=b"x", mode=0o644), d(name, mode=0o755), l(name, target),
  h(name, target)                    regular file, dir, symlink, hard link
  image(layers, tags=["evil:latest"], manifest=None, config_name=None,
        layer_names=None, extra={})  -> a docker-archive's files (dict);
        manifest: a replacement manifest.json value (after defaults are
        computed: see DEFAULTS in the returned dict's "__defaults__")
  sha(b) -> hex sha256
The spec must assign OUT_LAYER (bytes) for "layer" or FILES (dict of
archive path -> bytes, or -> ("symlink", target)) for "docker"."""
import hashlib, io, json, sys, tarfile


def sha(b):
    return hashlib.sha256(b).hexdigest()


def _ti(name, kind, link="", size=0, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.size, ti.mtime = kind, link, mode, size, 1000000000
    return ti


def f(name, data=b"x\n", mode=0o644):
    return (_ti(name, tarfile.REGTYPE, size=len(data), mode=mode), data)


def d(name, mode=0o755):
    return (_ti(name, tarfile.DIRTYPE, mode=mode), None)


def l(name, target):
    return (_ti(name, tarfile.SYMTYPE, link=target, mode=0o777), None)


def h(name, target):
    return (_ti(name, tarfile.LNKTYPE, link=target), None)


def _tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def layer(*entries):
    return _tar(entries)


def image(layers, tags=("evil:latest",), config_name=None, layer_names=None, manifest=None,
          diff_ids=None, extra=None):
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers",
                   "diff_ids": diff_ids or ["sha256:" + sha(x) for x in layers]},
    }).encode()
    names = layer_names or ["%s/layer.tar" % sha(x) for x in layers]
    cname = config_name or sha(config) + ".json"
    files = {cname: config}
    for n, x in zip(names, layers):
        if n not in files:
            files[n] = x
    m = manifest if manifest is not None else [
        {"Config": cname, "RepoTags": list(tags), "Layers": names}]
    files["manifest.json"] = json.dumps(m).encode()
    files.update(extra or {})
    return files


def _write_archive(out, files):
    entries = []
    for name, v in files.items():
        if isinstance(v, tuple):
            entries.append(l(name, v[1]))
        else:
            entries.append(f(name, v))
    with open(out, "wb") as fh:
        fh.write(_tar(entries))


def main():
    kind, out, spec = sys.argv[1], sys.argv[2], sys.argv[3]
    env = dict(layer=layer, f=f, d=d, l=l, h=h, image=image, sha=sha, json=json)
    env.update(ARGS=sys.argv[4:])
    with open(spec) as fh:
        exec(fh.read(), env)
    if kind == "layer":
        with open(out, "wb") as fh:
            fh.write(env["OUT_LAYER"])
    else:
        _write_archive(out, env["FILES"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
