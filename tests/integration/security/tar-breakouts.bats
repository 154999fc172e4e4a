#!/usr/bin/env bats
# Tar breakouts (CVE-2014-6407, CVE-2014-9356, CVE-2021-32760, libarchive
# CVE-2021-31566/CVE-2021-23177), modelled on containerd's breakout cases
# (archive/tar_test.go): symlink, hard link, chmod and directory-then-
# symlink escapes, absolute and relative, directly and through parents.
# Each layer is imported; whether the import fails or not, nothing outside
# the layer may change: the sentinel files on the host keep their content,
# mode and owner, and no file appears beside them.

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../../build/mydocker}"
load ../helpers

setup() {
	setup_store
	HOST=$TEST_TMP/host
	mkdir -p "$HOST/dir"
	echo sentinel >"$HOST/sentinel"
	chmod 0600 "$HOST/sentinel"
	chmod 0700 "$HOST/dir"
	SNAP=$(snapshot)
}
teardown() { teardown_store; }

snapshot() {
	(cd "$HOST" && find . -printf '%p %m %u:%g %s %y\n' | sort && cat sentinel)
}

# layer NAME PYTHON: a tar built by the python statements (helpers f, d, l,
# h, and H = the host dir as an absolute path, UP = enough ../ to reach /).
layer() {
	python3 - "$TEST_TMP/$1.tar" "$HOST" <<PY
import io, sys, tarfile
out, H = sys.argv[1], sys.argv[2]
UP = "../" * 40
t = tarfile.open(out, "w", format=tarfile.PAX_FORMAT)
def add(name, kind, link="", data=b"", mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = kind, link, mode
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data) if data else None)
f = lambda n, data=b"pwned\n", mode=0o644: add(n, tarfile.REGTYPE, data=data, mode=mode)
d = lambda n, mode=0o755: add(n, tarfile.DIRTYPE, mode=mode)
l = lambda n, target: add(n, tarfile.SYMTYPE, link=target)
h = lambda n, target: add(n, tarfile.LNKTYPE, link=target)
$2
t.close()
PY
}

# breakout NAME PYTHON: import the layer; the host must be unchanged.
breakout() {
	layer "$1" "$2"
	run md import "$TEST_TMP/$1.tar" "$1:latest"
	echo "$1: status $status: $output"
	[ "$(snapshot)" = "$SNAP" ] || { echo "host changed:"; snapshot; return 1; }
	assert_no_mounts
}

# refused NAME PYTHON: as breakout, and the import must fail.
refused() {
	breakout "$@" || return 1
	[ "$status" -eq 125 ] || { echo "import of $1 should fail"; return 1; }
	run md images -q
	[ -z "$output" ]
}

@test "tar-breakouts: symlink to an absolute host dir, then a file through it" {
	refused symlink-abs 'l("escape", H); f("escape/sentinel"); f("escape/new")'
}

@test "tar-breakouts: symlink climbing out with ../, then a file through it" {
	refused symlink-rel 'l("escape", UP + H[1:]); f("escape/new")'
	refused symlink-dotdot 'd("a"); l("a/up", ".."); l("a/up2", "../.."); f("a/up2/new")'
}

@test "tar-breakouts: symlink to a host file, then a file written over it" {
	# The file entry replaces the symlink; it never writes through it.
	breakout symlink-file 'l("victim", H + "/sentinel"); f("victim")'
	[ "$status" -eq 0 ]
	breakout symlink-file-rel 'l("victim", UP + H[1:] + "/sentinel"); f("victim", mode=0o777)'
	[ "$status" -eq 0 ]
}

@test "tar-breakouts: hard links to absolute and relative host paths" {
	refused hardlink-abs 'h("victim", H + "/sentinel")'
	refused hardlink-rel 'h("victim", UP + H[1:] + "/sentinel")'
	refused hardlink-dotdot 'h("victim", "../sentinel")'
}

@test "tar-breakouts: hard link through a symlinked parent" {
	refused hardlink-via-symlink 'l("escape", H); h("victim", "escape/sentinel")'
	refused hardlink-via-rel-symlink 'l("escape", UP + H[1:]); h("victim", "escape/sentinel")'
}

@test "tar-breakouts: hard link to a symlink, then a file through it" {
	breakout hardlink-to-symlink 'l("s", H + "/sentinel"); h("hl", "s"); f("hl", data=b"pwned\n")'
	breakout hardlink-to-dirlink 'l("s", H); h("hl", "s"); f("hl/new")'
	[ "$status" -eq 125 ]
}

@test "tar-breakouts: directory, then a symlink in its place, then a file below" {
	refused dir-then-symlink 'd("dir"); l("dir", H); f("dir/new")'
	refused dir-then-symlink-rel 'd("dir"); f("dir/a"); l("dir", UP + H[1:]); f("dir/sentinel")'
}

@test "tar-breakouts: chmod through a symlink (CVE-2021-32760)" {
	# A directory entry over a symlink must not chmod the symlink's target.
	breakout chmod-dir 'l("s", H + "/dir"); d("s", mode=0o777)'
	breakout chmod-file 'l("s", H + "/sentinel"); f("s", mode=0o4777)'
	breakout chmod-deferred 'd("d", mode=0o777); l("d", H + "/dir")'
}

@test "tar-breakouts: absolute and ../ entry names" {
	refused name-abs 'f(H + "/new")'
	refused name-dotdot 'f(UP + H[1:] + "/new")'
	refused name-inner-dotdot 'd("a"); f("a/../../new")'
}

@test "tar-breakouts: parents through symlinks, deeper in the tree" {
	refused deep-parent 'd("a"); d("a/b"); l("a/b/c", H); f("a/b/c/d/e")'
	refused deep-rel-parent 'd("a"); l("a/up", "../../../../../../../../../../.."); f("a/up" + H + "/new")'
}

@test "tar-breakouts: a symlink inside the layer is never followed on write either" {
	# containerd allows links that stay inside; mydocker refuses writing
	# through any symlink (RESOLVE_NO_SYMLINKS), which covers both.
	refused inside-link 'd("real"); l("alias", "real"); f("alias/x")'
}

@test "tar-breakouts: the root entry cannot be replaced by a symlink" {
	refused root-symlink 'l(".", H); f("new")'
	refused root-symlink-slash 'l("./", H); d("./", mode=0o777)'
}
