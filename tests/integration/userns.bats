#!/usr/bin/env bats
# --userns private / --uidmap / --gidmap: the container's root is an
# unprivileged host id, yet it owns its rootfs through idmapped mounts
# (runtime/idmap.c): nothing on the host is chowned, the upper dir keeps
# the container's own ids (root's files are 0:0 on disk), so commit and
# diff work as without a user namespace.

load helpers

: "${RT_HARNESS:=$BATS_TEST_DIRNAME/../../build/tests/rt_harness}"

setup() {
	setup_store
	load_busybox
}

teardown() {
	md rm -f u1 >/dev/null 2>&1 || true
	teardown_store
}

upper_of() {
	echo "$ROOT/containers/$(md inspect -f '{{.Id}}' "$1")/upper"
}

@test "userns-root-is-mapped-and-owns-the-image" {
	run md run --rm --network none --userns private busybox sh -c \
		'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; stat -c "%u:%g" / /bin/busybox /etc/passwd'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0 ]
	[ "$(echo ${lines[2]})" = "0 100000 65536" ]
	[ "$(echo ${lines[3]})" = "0 100000 65536" ]
	[ "${lines[4]}" = 0:0 ]
	[ "${lines[5]}" = 0:0 ]
	[ "${lines[6]}" = 0:0 ]
}

@test "userns-process-runs-as-the-mapped-host-id" {
	md run -d --name u1 --network none --userns private busybox sleep 60 >/dev/null
	pid=$(md inspect -f '{{.State.Pid}}' u1)
	[ "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" = 100000 ]
	[ "$(awk '/^Gid:/ { print $2 }' /proc/$pid/status)" = 100000 ]
}

@test "userns-root-writes-the-rootfs-and-the-upper-keeps-container-ids" {
	run md run --name u1 --network none --userns private busybox sh -c \
		'touch /x && mkdir /d && chown 1000:1000 /d && rm /bin/cat && echo more >>/etc/passwd && stat -c "%u:%g" /x'
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = 0:0 ]
	up=$(upper_of u1)
	[ "$(stat -c %u:%g "$up/x")" = 0:0 ]
	[ "$(stat -c %u:%g "$up/d")" = 1000:1000 ]
	[ "$(stat -c %u:%g "$up/etc/passwd")" = 0:0 ]
	# A whiteout, as overlay makes them without a user namespace.
	[ "$(stat -c '%F %t:%T %u' "$up/bin/cat")" = "character special file 0:0 0" ]
	# Nothing of the image was chowned.
	[ -z "$(find "$ROOT/layers" ! -uid 0 ! -path '*/home/user*' -print -quit)" ]
}

@test "userns-commit-and-diff-see-the-container-ids" {
	md run --name u1 --network none --userns private busybox sh -c \
		'echo hi >/x && mkdir /d && chown 1000:1000 /d && rm /bin/cat' >/dev/null
	run md diff u1
	[ "$status" -eq 0 ]
	[[ "$output" == *"A /x"* ]]
	[[ "$output" == *"D /bin/cat"* ]]
	md commit u1 snap:u >/dev/null
	run md run --rm --network none snap:u sh -c 'stat -c "%u:%g" /x /d; cat /x; test -e /bin/cat || echo nocat'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0:0 ]
	[ "${lines[1]}" = 1000:1000 ]
	[ "${lines[2]}" = hi ]
	[ "${lines[3]}" = nocat ]
}

@test "userns-bind-named-and-readonly-volumes" {
	mkdir -p "$TEST_TMP/vol" "$TEST_TMP/ro"
	echo host >"$TEST_TMP/vol/h"
	echo ro >"$TEST_TMP/ro/r"
	chmod 700 "$TEST_TMP"
	run md run --rm --network none --userns private -v "$TEST_TMP/vol:/data" \
		-v "$TEST_TMP/ro:/ro:ro" -v named:/nv busybox sh -c \
		'cat /data/h; stat -c "%u:%g" /data /data/h; echo c >/data/c && echo rw-ok; echo n >/nv/n && echo named-ok; { echo z >/ro/z; } 2>/dev/null || echo ro-refused; cat /ro/r; cat /etc/hostname >/dev/null && echo etc-ok'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = host ]
	[ "${lines[1]}" = 0:0 ]
	[ "${lines[2]}" = 0:0 ]
	[ "${lines[3]}" = rw-ok ]
	[ "${lines[4]}" = named-ok ]
	[ "${lines[5]}" = ro-refused ]
	[ "${lines[6]}" = ro ]
	[ "${lines[7]}" = etc-ok ]
	[ "$(stat -c %u:%g "$TEST_TMP/vol/c")" = 0:0 ]
	[ "$(stat -c %u:%g "$ROOT/volumes/named/_data/n")" = 0:0 ]
	[ ! -e "$TEST_TMP/ro/z" ]
}

@test "userns-custom-uidmap-and-gidmap" {
	md run -d --name u1 --network none --uidmap 0:200000:65536 --gidmap 0:300000:65536 \
		busybox sh -c 'touch /y; sleep 60' >/dev/null
	pid=$(md inspect -f '{{.State.Pid}}' u1)
	[ "$(awk '/^Uid:/ { print $2 }' /proc/$pid/status)" = 200000 ]
	[ "$(awk '/^Gid:/ { print $2 }' /proc/$pid/status)" = 300000 ]
	run md exec u1 sh -c 'id -u; cat /proc/self/uid_map /proc/self/gid_map; stat -c "%u:%g" /y /bin/sh'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "$(echo ${lines[1]})" = "0 200000 65536" ]
	[ "$(echo ${lines[2]})" = "0 300000 65536" ]
	[ "${lines[3]}" = 0:0 ]
	[ "${lines[4]}" = 0:0 ]
	[ "$(stat -c %u:%g "$(upper_of u1)/y")" = 0:0 ]
}

@test "userns-restart-and-nothing-left-behind" {
	md run -d --name u1 --network none --userns private busybox sleep 60 >/dev/null
	md stop -t 1 u1 >/dev/null
	assert_no_mounts
	md start u1 >/dev/null
	run md exec u1 sh -c 'touch /again && echo ok'
	[ "$output" = ok ]
	md rm -f u1 >/dev/null
	assert_no_mounts
	run md run --rm --network none --userns private busybox true
	[ "$status" -eq 0 ]
	assert_no_mounts
	[ -z "$(ls "$ROOT/containers")" ]
}

@test "userns-harness-root-owned-directory-rootfs-is-idmapped" {
	[ -x "$RT_HARNESS" ] || skip "build/tests/rt_harness not built"
	# A plain directory (not an overlay), owned by host root, below a
	# directory only host root may enter.
	mkdir -p "$TEST_TMP/priv/rootfs"
	chmod 700 "$TEST_TMP/priv"
	tar -C "$TEST_TMP/priv/rootfs" -xf "$BUSYBOX_TAR"
	run "$RT_HARNESS" --userns --net none "$TEST_TMP/priv/rootfs" sh -c \
		'id -u; stat -c "%u:%g" /bin/busybox; touch /made && echo touched'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 0:0 ]
	[ "${lines[2]}" = touched ]
	[ "$(stat -c %u:%g "$TEST_TMP/priv/rootfs/made")" = 0:0 ]
	[ "$(stat -c %u:%g "$TEST_TMP/priv/rootfs/bin/busybox")" = 0:0 ]
}
