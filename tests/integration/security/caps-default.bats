#!/usr/bin/env bats
# Capability sets inside a container: Docker's default (0xa80425fb) in the
# effective, permitted and bounding sets, nothing inheritable or ambient;
# --cap-add/--cap-drop; a non-root user keeps only the bounding set
# (CVE-2022-24769: no inheritable/ambient caps leaking into exec).

: "${MYDOCKER:=$BATS_TEST_DIRNAME/../../../build/mydocker}"
: "${BUSYBOX_TAR:=$BATS_TEST_DIRNAME/../../../testdata/busybox.tar}"
load ../helpers

setup() { setup_store; load_busybox; }
teardown() { teardown_store; }

# caps [run options...]: the container's Cap* lines, as "CapEff=...".
caps() {
	md run --rm --network none "$@" busybox \
		sh -c 'grep ^Cap /proc/self/status' | tr -d ' \t' | sed 's/:/=/'
}

@test "caps: default set is Docker's 0xa80425fb, no inheritable/ambient" {
	run caps
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapEff=00000000a80425fb"* ]]
	[[ "$output" == *"CapPrm=00000000a80425fb"* ]]
	[[ "$output" == *"CapBnd=00000000a80425fb"* ]]
	[[ "$output" == *"CapInh=0000000000000000"* ]]
	[[ "$output" == *"CapAmb=0000000000000000"* ]]
}

@test "caps: --cap-drop ALL leaves every set empty" {
	run caps --cap-drop ALL
	[ "$status" -eq 0 ]
	for k in CapEff CapPrm CapBnd CapInh CapAmb; do
		[[ "$output" == *"$k=0000000000000000"* ]] || { echo "$k: $output"; return 1; }
	done
}

@test "caps: --cap-add NET_ADMIN adds bit 12" {
	run caps --cap-add NET_ADMIN
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapEff=00000000a80435fb"* ]]
	[[ "$output" == *"CapBnd=00000000a80435fb"* ]]
}

@test "caps: --cap-drop ALL --cap-add CHOWN keeps only CHOWN; lowercase cap_ names work" {
	run caps --cap-drop all --cap-add cap_chown
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapEff=0000000000000001"* ]]
	[[ "$output" == *"CapBnd=0000000000000001"* ]]
}

@test "caps: -u 1000 has empty effective/permitted, default bounding set" {
	run caps -u 1000
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapEff=0000000000000000"* ]]
	[[ "$output" == *"CapPrm=0000000000000000"* ]]
	[[ "$output" == *"CapInh=0000000000000000"* ]]
	[[ "$output" == *"CapBnd=00000000a80425fb"* ]]
	run md run --rm --network none -u 1000:1000 busybox id -u
	[ "$output" = 1000 ]
}

@test "caps: unknown capability is a one-line error, exit 125" {
	run md run --rm --network none --cap-add FOO busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"unknown capability"*FOO* ]]
	[ "${#lines[@]}" -eq 1 ]
	assert_no_mounts
}
