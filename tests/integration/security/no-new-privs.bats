#!/usr/bin/env bats
# no_new_privs: off by default, as in Docker; on with
# --security-opt no-new-privileges (setuid binaries then gain nothing).

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../../build/mydocker}"
: "${BUSYBOX_TAR:=$BATS_TEST_DIRNAME/../../../testdata/busybox.tar}"
load ../helpers

setup() { setup_store; load_busybox; }
teardown() { teardown_store; }

nnp() {
	md run --rm --network none "$@" busybox sh -c 'grep ^NoNewPrivs: /proc/self/status' |
		tr -d ' \t'
}

@test "no-new-privs: off by default" {
	run nnp
	[ "$status" -eq 0 ]
	[ "$output" = "NoNewPrivs:0" ]
}

@test "no-new-privs: --security-opt no-new-privileges sets it" {
	run nnp --security-opt no-new-privileges
	[ "$status" -eq 0 ]
	[ "$output" = "NoNewPrivs:1" ]
	run nnp --security-opt no-new-privileges:true -u 1000
	[ "$output" = "NoNewPrivs:1" ]
}

@test "no-new-privs: seccomp still applied with no-new-privileges (loaded last)" {
	run md run --rm --network none --security-opt no-new-privileges busybox \
		sh -c 'grep ^Seccomp: /proc/self/status'
	[ "$status" -eq 0 ]
	[[ "$output" == *"2"* ]]
}
