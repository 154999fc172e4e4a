#!/usr/bin/env bats
# union: what a container's changes look like on disk, as with Docker. A
# deleted or renamed lower file becomes a whiteout in the container's upper
# dir (overlay: a 0:0 char device; vfs: simply gone from the full copy), a
# lower dir replaced by a new one becomes opaque, a lower dir can be moved,
# and the image's layer dirs never change. Each case runs on the default
# driver and on --storage-driver vfs.

load helpers

setup() {
	setup_store
}

teardown() {
	teardown_store
}

# mdd ARGS...: md on the driver under test (DRIVER empty = default pick).
mdd() {
	if [ -n "${DRIVER:-}" ]; then
		md --storage-driver "$DRIVER" "$@"
	else
		md "$@"
	fi
}

# Everything observable of the image's layer dirs: names, types, modes,
# owners, sizes, mtimes, link targets, xattrs and file contents.
layer_sums() {
	(
		cd "$ROOT/layers" || exit 1
		find . -path './*/diff*' -printf '%p %y %m %U:%G %s %T@ %l\n' | LC_ALL=C sort
		find . -path './*/diff*' -type f -exec sha256sum {} + | LC_ALL=C sort
		getfattr -R -P -d -m - --absolute-names . 2>/dev/null | LC_ALL=C sort
	)
}

prepare() {
	DRIVER=$1
	mdd import "$BUSYBOX_TAR" busybox:latest >/dev/null
	DRV=$(cat "$ROOT/driver" 2>/dev/null || echo "${DRIVER:-overlay}")
	SUMS_BEFORE=$(layer_sums)
}

# The container's writable dir, found by id as a user would.
upper_of() {
	local id
	id=$(md inspect -f '{{.Id}}' "$1" 2>/dev/null) || id=""
	if [ -z "$id" ]; then
		id=$(grep -l "\"Name\":\"/$1\"" "$ROOT"/containers/*/config.json | head -n 1)
		id=$(basename "$(dirname "$id")")
	fi
	echo "$ROOT/containers/$id/upper"
}

is_whiteout() {
	[ -c "$1" ] && [ "$(stat -c '%t:%T' "$1")" = "0:0" ]
}

# in_ctr NAME SCRIPT: run SCRIPT in a kept container; it must succeed.
in_ctr() {
	run mdd run --name "$1" --network none busybox sh -c "$2"
	echo "$output"
	[ "$status" -eq 0 ]
	UP=$(upper_of "$1")
	[ -d "$UP" ]
}

# The layers are as imported, and removing the container leaves no mount.
finish() {
	[ "$(layer_sums)" = "$SUMS_BEFORE" ]
	md rm -f "$1" >/dev/null
	assert_no_mounts
}

check_rm() {
	prepare "$1"
	in_ctr rm1 'rm /etc/group && test ! -e /etc/group && test -f /etc/passwd'
	if [ "$DRV" = overlay ]; then
		is_whiteout "$UP/etc/group"
		[ ! -e "$UP/etc/passwd" ] # untouched files are not copied up
	else
		[ ! -e "$UP/etc/group" ] && [ -f "$UP/etc/passwd" ]
	fi
	finish rm1
}

check_opaque() {
	prepare "$1"
	in_ctr opq1 'rm -rf /usr/sbin && mkdir /usr/sbin && touch /usr/sbin/new &&
		test "$(ls -A /usr/sbin)" = new'
	if [ "$DRV" = overlay ]; then
		[ "$(getfattr --absolute-names --only-values -n trusted.overlay.opaque \
			"$UP/usr/sbin")" = y ]
	fi
	[ "$(ls -A "$UP/usr/sbin")" = new ]
	finish opq1
}

check_rename_file() {
	prepare "$1"
	in_ctr mv1 'mv /etc/passwd /etc/passwd.old && test ! -e /etc/passwd &&
		grep -q ^root: /etc/passwd.old'
	if [ "$DRV" = overlay ]; then
		is_whiteout "$UP/etc/passwd"
	else
		[ ! -e "$UP/etc/passwd" ]
	fi
	grep -q '^root:' "$UP/etc/passwd.old"
	finish mv1
}

# rename(2) of a lower dir is EXDEV on overlay without redirect_dir (Docker's
# default); mv falls back to copy + remove. The result must be the same.
check_rename_dir() {
	prepare "$1"
	in_ctr mv2 'mv /home/user /home/moved && test -d /home/moved && test ! -e /home/user &&
		test "$(stat -c %u /home/moved)" = 1000'
	[ -d "$UP/home/moved" ]
	if [ "$DRV" = overlay ]; then
		is_whiteout "$UP/home/user"
	else
		[ ! -e "$UP/home/user" ]
	fi
	finish mv2
}

@test "union: rm of a lower file leaves a whiteout in upper" {
	check_rm ""
}

@test "union: rm of a lower file (vfs)" {
	check_rm vfs
}

@test "union: a lower dir replaced by a new one is opaque" {
	check_opaque ""
}

@test "union: a lower dir replaced by a new one (vfs)" {
	check_opaque vfs
}

@test "union: rename of a lower file is whiteout + new file" {
	check_rename_file ""
}

@test "union: rename of a lower file (vfs)" {
	check_rename_file vfs
}

@test "union: mv of a lower dir works" {
	check_rename_dir ""
}

@test "union: mv of a lower dir (vfs)" {
	check_rename_dir vfs
}
