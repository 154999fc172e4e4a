#!/usr/bin/env bats
# Devices: CAP_MKNOD is in Docker's default set, so a container can create
# a node for a host disk; the devices cgroup (v1 allow-list, v2 BPF
# program) must still refuse opening it. A fork bomb under --pids-limit
# hits the limit, leaves the host able to fork, and the container can be
# removed.

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../../build/mydocker}"
: "${BUSYBOX_TAR:=$BATS_TEST_DIRNAME/../../../testdata/busybox.tar}"
load ../helpers

setup() { setup_store; load_busybox; }
teardown() {
	[ -n "${CTR:-}" ] && md rm -f "$CTR" >/dev/null 2>&1
	teardown_store
}

# Nodes outside Docker's allow-list that host root can open without any
# capability (so only the devices cgroup stands in the way): the host's
# kernel log (c 1:11, writable), a VT (c 4:1), a loop device (b 7:0); and the
# issue's classic, a disk (b 8:0), which need not exist on this machine.
@test "devices-cgroup: mknod of host devices works, opening them is refused" {
	run md run --rm --network none busybox sh -c '
		mknod /dev/sda b 8 0 && echo made
		head -c 1 /dev/sda >/dev/null && echo READ-SDA
		mknod /dev/k c 1 11 && echo "<6>mydocker devices-cgroup escape" >/dev/k && echo WROTE-KMSG
		mknod /dev/t1 c 4 1 && head -c 0 /dev/t1 && echo OPEN-TTY1
		mknod /dev/l0 b 7 0 && head -c 0 /dev/l0 && echo OPEN-LOOP
		true'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *made* ]]
	[[ "$output" != *READ-* && "$output" != *WROTE-* && "$output" != *OPEN-* ]]
	[[ "$output" == *"Operation not permitted"* ]]
}

@test "devices-cgroup: the default nodes still work" {
	run md run --rm --network none busybox sh -c '
		head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c
		echo x >/dev/null && echo null-ok
		mknod /dev/null2 c 1 3 && echo y >/dev/null2 && echo mknod-null-ok'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '4\n4\nnull-ok\nmknod-null-ok')" ]
}

@test "devices-cgroup: --privileged lifts the device restriction" {
	run md run --rm --network none --privileged busybox sh -c \
		'mknod /dev/t1 c 4 1 && head -c 0 /dev/t1 && echo open-tty1'
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = open-tty1 ]
}

@test "devices-cgroup: a fork bomb under --pids-limit is contained and removable" {
	CTR=mydocker-forkbomb-$$
	# A bounded bomb: each shell forks two more until fork fails.
	run timeout 60 "$MYDOCKER" --root "$ROOT" run --name "$CTR" --network none \
		--pids-limit 32 busybox sh -c '
		bomb() { bomb & bomb & wait; }
		( bomb ) 2>/dev/null & sleep 3
		n=$(ls /proc | grep -c "^[0-9]")
		echo "pids=$n"
		kill -9 -1 2>/dev/null; true'
	echo "$output"
	[[ "$output" =~ pids=([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -le 32 ]
	# The host can still fork while and after the container runs.
	run sh -c 'for i in 1 2 3 4 5; do true & done; wait; echo host-ok'
	[ "$output" = host-ok ]
	run md rm -f "$CTR"
	[ "$status" -eq 0 ]
	CTR=
	assert_no_mounts
}
