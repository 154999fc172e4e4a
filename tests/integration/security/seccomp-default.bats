#!/usr/bin/env bats
# Docker's default seccomp profile: user namespaces, mount, keyring, module
# and kexec calls are refused (EPERM) even where capabilities would not stop
# them; --security-opt seccomp=unconfined removes the filter.

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

# Not busybox applets: the raw syscalls are probed by a static helper built
# on the host (musl-gcc or gcc -static) and imported as the image "probe".
# It prints "name=ret/errno" for each call of the set named by argv[1].
build_probe() {
	local cc
	if command -v musl-gcc >/dev/null; then
		cc="musl-gcc -static"
	elif command -v gcc >/dev/null; then
		cc="gcc -static"
	else
		skip "no compiler to build the probe"
	fi
	mkdir -p "$TEST_TMP/probe"
	cat >"$TEST_TMP/probe.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void show(const char *name, long rc)
{
	printf("%s=%ld/%d ", name, rc, rc < 0 ? errno : 0);
}

int main(int argc, char **argv)
{
	const char *set = argc > 1 ? argv[1] : "";

	if (!strcmp(set, "keys")) {
		show("keyctl", syscall(SYS_keyctl, 0, -3, 0));
		show("add_key", syscall(SYS_add_key, "user", "x", "y", 1, -3));
	} else if (!strcmp(set, "module")) {
		/* An empty image: refused (ENOEXEC) even where it gets through. */
		show("init_module", syscall(SYS_init_module, NULL, 0UL, ""));
	} else if (!strcmp(set, "kexec")) {
		/* Unknown flags, unknown arch and more segments than
		 * KEXEC_SEGMENT_MAX: EINVAL where it gets through; never 0
		 * segments (that would unload a loaded kernel). */
		show("kexec_load", syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0x7fff8000UL));
	}
	printf("getpid=%d\n", getpid() > 0);
	return 0;
}
C
	$cc -O2 -o "$TEST_TMP/probe/probe" "$TEST_TMP/probe.c" 2>/dev/null ||
		skip "no static libc to build the probe"
	tar -C "$TEST_TMP/probe" -cf "$TEST_TMP/probe.tar" probe
	md import "$TEST_TMP/probe.tar" probe:latest >/dev/null
}

@test "seccomp: keyctl/add_key denied with EPERM" {
	build_probe
	run md run --rm --network none probe /probe keys
	[ "$status" -eq 0 ]
	[ "$output" = "keyctl=-1/1 add_key=-1/1 getpid=1" ]
}

# init_module: EPERM by default; with --cap-add SYS_MODULE the profile
# allows it (Docker's), and the kernel then rejects the empty image itself.
@test "seccomp: init_module denied with EPERM; allowed with --cap-add SYS_MODULE" {
	build_probe
	run md run --rm --network none probe /probe module
	[ "$status" -eq 0 ]
	[ "$output" = "init_module=-1/1 getpid=1" ]
	run md run --rm --network none --cap-add SYS_MODULE probe /probe module
	[ "$status" -eq 0 ]
	# ENOEXEC; ENOSYS from a kernel without modules
	[[ "$output" == "init_module=-1/8 getpid=1" || "$output" == "init_module=-1/38 getpid=1" ]]
}

# kexec_load is in no allow list, whatever the capabilities: with
# CAP_SYS_BOOT it is still EPERM, from the filter; unconfined, the same call
# gets to the kernel's argument checks (EINVAL).
@test "seccomp: kexec_load denied with EPERM even with --cap-add SYS_BOOT" {
	build_probe
	run md run --rm --network none probe /probe kexec
	[ "$status" -eq 0 ]
	[ "$output" = "kexec_load=-1/1 getpid=1" ]
	run md run --rm --network none --cap-add SYS_BOOT probe /probe kexec
	[ "$status" -eq 0 ]
	[ "$output" = "kexec_load=-1/1 getpid=1" ]
	run md run --rm --network none --cap-add SYS_BOOT --security-opt seccomp=unconfined \
		probe /probe kexec
	[ "$status" -eq 0 ]
	# EINVAL; ENOSYS from a kernel without kexec
	[[ "$output" == "kexec_load=-1/22 getpid=1" || "$output" == "kexec_load=-1/38 getpid=1" ]]
}
