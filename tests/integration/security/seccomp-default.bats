#!/usr/bin/env bats
# Docker's default seccomp profile: user namespaces, mount, keyring calls
# are refused (EPERM) even where capabilities would not stop them;
# --security-opt seccomp=unconfined removes the filter.

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../../build/mydocker}"
: "${BUSYBOX_TAR:=$BATS_TEST_DIRNAME/../../../testdata/busybox.tar}"
load ../helpers

setup() { setup_store; load_busybox; }
teardown() { teardown_store; }

@test "seccomp: filter is on by default (Seccomp: 2)" {
	run md run --rm --network none busybox sh -c 'grep ^Seccomp: /proc/self/status'
	[ "$status" -eq 0 ]
	[[ "$output" == *"2" ]]
}

# CLONE_NEWUSER needs no capability at all: only seccomp stops it.
@test "seccomp: unshare -U fails by default, works with seccomp=unconfined" {
	md run --rm --network none busybox sh -c 'command -v unshare' >/dev/null ||
		skip "busybox has no unshare applet"
	run md run --rm --network none busybox unshare -U true
	[ "$status" -ne 0 ]
	[[ "$output" == *"Operation not permitted"* ]]
	run md run --rm --network none --security-opt seccomp=unconfined busybox unshare -U true
	[ "$status" -eq 0 ]
}

# mount needs CAP_SYS_ADMIN, and the profile follows the capability set:
# with it added, the filter allows mount too (Docker's behaviour).
@test "seccomp: mount refused by default; allowed with --cap-add SYS_ADMIN" {
	run md run --rm --network none busybox sh -c 'mkdir -p /m && mount -t tmpfs none /m'
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermission denied"* || "$output" == *"not permitted"* ]]
	run md run --rm --network none --cap-add SYS_ADMIN busybox \
		sh -c 'mkdir -p /m && mount -t tmpfs none /m && grep -c " /m tmpfs" /proc/mounts'
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
}

@test "seccomp: unconfined and privileged have no filter" {
	run md run --rm --network none --security-opt seccomp=unconfined busybox \
		sh -c 'grep ^Seccomp: /proc/self/status'
	[[ "$output" == *"0" ]]
	run md run --rm --network none --privileged busybox sh -c 'grep ^Seccomp: /proc/self/status'
	[[ "$output" == *"0" ]]
}

# Not a busybox applet: probe the raw syscalls from a host-built static
# helper when a compiler is around (keyctl, add_key, kexec_load).
@test "seccomp: keyctl/add_key denied with EPERM" {
	command -v gcc >/dev/null || skip "no gcc to build the probe"
	mkdir -p "$TEST_TMP/probe"
	cat >"$TEST_TMP/probe.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long k = syscall(SYS_keyctl, 0, -3, 0);
	int ke = errno;
	long a = syscall(SYS_add_key, "user", "x", "y", 1, -3);
	int ae = errno;
	printf("keyctl=%ld/%d add_key=%ld/%d getpid=%d\n", k, ke, a, ae, getpid() > 0);
	return 0;
}
C
	gcc -static -O2 -o "$TEST_TMP/probe/probe" "$TEST_TMP/probe.c" 2>/dev/null ||
		skip "no static libc to build the probe"
	tar -C "$TEST_TMP/probe" -cf "$TEST_TMP/probe.tar" probe
	md import "$TEST_TMP/probe.tar" probe:latest >/dev/null
	run md run --rm --network none probe /probe
	[ "$status" -eq 0 ]
	[ "$output" = "keyctl=-1/1 add_key=-1/1 getpid=1" ]
}
