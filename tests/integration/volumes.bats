#!/usr/bin/env bats
# Bind mounts, named and anonymous volumes, tmpfs, `mydocker volume`.

load helpers

setup() {
	setup_store
	load_busybox
	HOSTDIR=$TEST_TMP/host
	mkdir -p "$HOSTDIR"
	echo from-host > "$HOSTDIR/in"
}
teardown() { teardown_store; }

@test "bind volume: read and write; :ro refuses writes" {
	run md run --rm -v "$HOSTDIR:/data" busybox sh -c 'cat /data/in; echo from-ctr > /data/out'
	[ "$status" -eq 0 ]
	[ "$output" = from-host ]
	[ "$(cat "$HOSTDIR/out")" = from-ctr ]
	run md run --rm -v "$HOSTDIR:/data:ro" busybox sh -c 'echo x > /data/out2'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$HOSTDIR/out2" ]
}

@test "bind volume: a single file, a new nested target" {
	run md run --rm -v "$HOSTDIR/in:/etc/motd:ro" -v "$HOSTDIR:/a/b/c" busybox sh -c 'cat /etc/motd; ls /a/b/c'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = from-host ]
}

@test "bind volume: a target that is a symlink to / stays inside the rootfs" {
	md import "$BUSYBOX_TAR" base >/dev/null
	# An image whose /evil is a symlink to the host's root.
	mkdir -p "$TEST_TMP/rf"
	tar -xf "$BUSYBOX_TAR" -C "$TEST_TMP/rf"
	ln -s / "$TEST_TMP/rf/evil"
	ln -s /tmp/../../ "$TEST_TMP/rf/evil2"
	tar -C "$TEST_TMP/rf" -cf "$TEST_TMP/evil.tar" .
	md import "$TEST_TMP/evil.tar" evil >/dev/null
	sentinel=$TEST_TMP/sentinel
	touch "$sentinel"
	md run --rm -v "$HOSTDIR:/evil/mnt" -v "$HOSTDIR:/evil2/mnt2" evil sh -c 'ls /mnt/in /mnt2/in'
	# Nothing appeared on the host's / .
	[ ! -e /mnt/in ] && [ ! -e /mnt2 ]
	assert_no_mounts
}

@test "named volume: created on first use, copied up from the image, survives its container" {
	run md run --rm -v vol1:/etc busybox sh -c 'ls /etc/passwd && echo kept > /etc/mine'
	[ "$status" -eq 0 ]
	run md volume ls -q
	[ "$output" = vol1 ]
	run md run --rm -v vol1:/data busybox cat /data/mine /data/passwd
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = kept ]
	mp=$(md volume inspect -f '{{.Mountpoint}}' vol1)
	[ "$(cat "$mp/mine")" = kept ]
	[ "$(stat -c %a "$mp")" = 755 ]
}

@test "anonymous volume: removed with --rm and with rm -v, kept by plain rm" {
	md run --rm -v /scratch busybox touch /scratch/x
	[ -z "$(md volume ls -q)" ]
	md run --name keep -v /scratch busybox touch /scratch/x
	[ "$(md volume ls -q | wc -l)" -eq 1 ]
	md rm keep
	[ "$(md volume ls -q | wc -l)" -eq 1 ]
	md volume prune -f
	[ -z "$(md volume ls -q)" ]
	md run --name keep2 -v /scratch busybox true
	md rm -v keep2
	[ -z "$(md volume ls -q)" ]
}

@test "volume create/inspect/rm; in-use volume refused; bad names refused" {
	run md volume create myvol
	[ "$output" = myvol ]
	run md volume inspect myvol
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]; assert d["Name"]=="myvol" and d["Driver"]=="local", d'
	md run --name user -v myvol:/v busybox true
	run md volume rm myvol
	[ "$status" -ne 0 ]
	[[ "$output" == *"in use"* ]]
	md rm user
	md volume rm myvol
	run md volume create 'bad/name'
	[ "$status" -eq 125 ]
	run md volume inspect nosuch
	[ "$status" -ne 0 ]
}

@test "tmpfs: writable, not in the upper layer" {
	run md run --name t1 --tmpfs /run/x:size=1m busybox sh -c 'echo hi > /run/x/f && cat /run/x/f && grep /run/x /proc/mounts'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = hi ]
	[[ "${lines[1]}" == *tmpfs* ]]
	id=$(md inspect -f '{{.Id}}' t1)
	[ ! -e "$ROOT/containers/$id/upper/run/x/f" ]
	md rm t1
}
