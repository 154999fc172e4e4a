#!/usr/bin/env bats
# Store permissions (CVE-2021-41091 class: moby's data dirs were 0711/0755,
# so unprivileged host users could reach setuid binaries and other files
# inside container filesystems). The store root, and the container, layer
# and volume trees, are 0700; metadata files 0600; volume data dirs are
# created 0755, never 0777, whatever the caller's umask.

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../../build/mydocker}"
: "${BUSYBOX_TAR:=$BATS_TEST_DIRNAME/../../../testdata/busybox.tar}"
load ../helpers

setup() { setup_store; }
teardown() {
	md rm -f perm-ctr >/dev/null 2>&1
	teardown_store
}

mode() { stat -c %a "$1"; }

# Everything with a permissive umask: nothing may depend on the caller's.
populate() {
	umask 000
	load_busybox
	md volume create named >/dev/null
	md run --name perm-ctr --network none -v named:/data -v /anon busybox true
}

@test "store-permissions: store root and its top-level dirs are 0700" {
	populate
	[ "$(mode "$ROOT")" = 700 ]
	local d
	for d in blobs containers images layers tmp volumes; do
		[ -d "$ROOT/$d" ] || continue
		echo "$d: $(mode "$ROOT/$d")"
		[ "$(mode "$ROOT/$d")" = 700 ]
	done
}

@test "store-permissions: container dirs are 0700 (0711 at most), metadata 0600" {
	populate
	local c
	c=$(ls "$ROOT/containers")
	[ -n "$c" ]
	echo "container dir: $(mode "$ROOT/containers/$c")"
	[[ "$(mode "$ROOT/containers/$c")" == 7[01][01] ]]
	for f in config.json state.json; do
		[ -f "$ROOT/containers/$c/$f" ] || continue
		[ "$(mode "$ROOT/containers/$c/$f")" = 600 ]
	done
	# Nothing in the store is writable by group or others, except inside
	# container and layer filesystems (their modes are the image's).
	run find "$ROOT" -maxdepth 3 -perm /022 \
		-not -path "$ROOT/containers/*/*" -not -path "$ROOT/layers/*/*" \
		-not -path "$ROOT/volumes/*/_data"
	echo "$output"
	[ -z "$output" ]
}

@test "store-permissions: an unprivileged user cannot read into the store" {
	populate
	run setpriv --reuid=65534 --regid=65534 --clear-groups \
		ls "$ROOT/containers" "$ROOT/layers" "$ROOT/volumes"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Permission denied"* ]]
}

@test "store-permissions: volumes are created 0755, never 0777" {
	populate
	local v
	for v in "$ROOT"/volumes/*/_data; do
		echo "$v: $(mode "$v")"
		[ "$(mode "$v")" = 755 ]
	done
	[ "$(ls -d "$ROOT"/volumes/*/_data | wc -l)" -ge 2 ]
	run md run --rm --network none -v named:/data busybox stat -c %a /data
	[ "$output" = 755 ]
}
