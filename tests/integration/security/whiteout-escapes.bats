#!/usr/bin/env bats
# Whiteouts that point outside their directory or the layer: ".wh.." (the
# directory itself), ".wh..." (its parent), a whiteout or opaque marker
# under a symlinked parent, and umoci's CVE-2021-29136 (the root entry
# replaced by a symlink, then metadata applied through it). All rejected at
# unpack; and when a later layer's whiteout sits under a path an earlier
# layer made a symlink, applying it (vfs driver) or mounting it (overlay)
# deletes nothing outside the container.

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../../build/mydocker}"
: "${BUSYBOX_TAR:=$BATS_TEST_DIRNAME/../../../testdata/busybox.tar}"
load ../helpers
MKARCHIVE=$BATS_TEST_DIRNAME/lib/mkarchive.py

setup() {
	setup_store
	HOST=$TEST_TMP/host
	mkdir -p "$HOST/dir"
	echo sentinel >"$HOST/sentinel"
	echo inner >"$HOST/dir/inner"
	SNAP=$(snapshot)
}
teardown() { teardown_store; }

snapshot() {
	(cd "$HOST" && find . -printf '%p %m %s %y\n' | sort && cat sentinel dir/inner &&
		getfattr -d -m - -R . 2>/dev/null)
}

assert_host_unchanged() {
	[ "$(snapshot)" = "$SNAP" ] || { echo "host changed:"; snapshot; return 1; }
}

# refused_layer NAME ENTRIES [DRIVER]: a one-layer image from ENTRIES
# (python, see lib/mkarchive.py; H is the host dir); must be refused.
refused_layer() {
	printf 'H = %s\nOUT_LAYER = layer(%s)\n' "'$HOST'" "$2" >"$TEST_TMP/$1.py"
	python3 "$MKARCHIVE" layer "$TEST_TMP/$1.tar" "$TEST_TMP/$1.py"
	# A store keeps its driver: another driver gets its own root.
	local ROOT=$ROOT${3:+-$3}
	run md ${3:+--storage-driver "$3"} import "$TEST_TMP/$1.tar" "$1:latest"
	echo "$1: $status: $output"
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid tar entry"* ]]
	assert_host_unchanged
	assert_no_mounts
}

@test "whiteout-escapes: .wh.. and .wh... are rejected" {
	refused_layer wh-dot 'd("a"), f("a/keep"), f("a/.wh..")'
	[[ "$output" == *"invalid whiteout"* ]]
	refused_layer wh-dotdot 'd("a"), f("a/.wh...")'
	refused_layer wh-root-dotdot 'f(".wh...")'
	refused_layer wh-empty 'd("a"), f("a/.wh.")'
}

@test "whiteout-escapes: a whiteout under a symlinked parent is rejected" {
	refused_layer wh-symlink-abs 'l("escape", H), f("escape/.wh.sentinel")'
	refused_layer wh-symlink-rel 'l("escape", "../" * 40 + H[1:]), f("escape/.wh.dir")'
	refused_layer wh-symlink-deep 'd("a"), l("a/b", H), f("a/b/dir/.wh.inner")'
}

@test "whiteout-escapes: an opaque marker under a symlinked parent is rejected" {
	refused_layer opq-symlink 'l("escape", H + "/dir"), f("escape/.wh..wh..opq")'
	refused_layer opq-symlink-vfs 'l("escape", H + "/dir"), f("escape/.wh..wh..opq")' vfs
}

@test "whiteout-escapes: CVE-2021-29136 root entry replaced by a symlink" {
	refused_layer root-symlink 'l(".", H), d(".", mode=0o777), f(".wh.sentinel")'
	refused_layer root-symlink-slash 'l("./", H + "/dir"), f(".wh..wh..opq")'
}

# A whiteout is data for the union, never a path walk: in OCI form (vfs)
# the marker file is kept and applied later by the driver beneath the
# container's directory.
@test "whiteout-escapes: later layer's whiteout under an earlier layer's symlink (vfs, overlay)" {
	local drv
	cat >"$TEST_TMP/two.py" <<PY
H = '$HOST'
base = open('$BUSYBOX_TAR', 'rb').read()
l1 = layer(l("escape", H), l("rel", "../" * 40 + H[1:]))
l2 = layer(d("escape"), f("escape/.wh.sentinel"), d("rel"), f("rel/.wh.dir"),
           f("rel/.wh..wh..opq"))
FILES = image([base, l1, l2], tags=["two:latest"])
PY
	python3 "$MKARCHIVE" docker "$TEST_TMP/two.tar" "$TEST_TMP/two.py"
	for drv in vfs overlay; do
		ROOT=$TEST_TMP/root-$drv
		run md --storage-driver "$drv" load -i "$TEST_TMP/two.tar"
		echo "$drv load: $status: $output"
		[ "$status" -eq 0 ]
		run md --storage-driver "$drv" run --rm --network none two \
			sh -c 'ls -A /escape /rel | wc -l'
		echo "$drv run: $status: $output"
		[ "$status" -eq 0 ]
		assert_host_unchanged
	done
	assert_no_mounts
}
