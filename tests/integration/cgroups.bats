#!/usr/bin/env bats
# Resource limits through cgroups, for real on this (hybrid v1) machine: each
# test uses its own --cgroup-parent so that nothing of the host's or of
# another run is touched, and removes it even when it fails.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_store
	[ -d /sys/fs/cgroup/memory ] || skip "needs the cgroup v1 memory hierarchy"
	load_busybox
	CGP="mydocker-bats-$$-${BATS_TEST_NUMBER}"
}

# Our cgroup dirs: the parent below every hierarchy.
cg_dirs() {
	local h
	for h in /sys/fs/cgroup/*/; do
		[ -d "$h$CGP" ] && echo "$h$CGP"
	done
	return 0
}

# Leaves left under our parent (there must be none after a container ends).
cg_leaves() {
	local d
	for d in $(cg_dirs); do
		find "$d" -mindepth 1 -maxdepth 1 -type d
	done
}

teardown() {
	local d l
	pkill -KILL -f "cgroup-parent $CGP" 2>/dev/null || true
	for d in $(cg_dirs); do
		for l in $(find "$d" -mindepth 1 -maxdepth 1 -type d); do
			xargs -r kill -9 <"$l/cgroup.procs" 2>/dev/null || true
			rmdir "$l" 2>/dev/null || true
		done
		rmdir "$d" 2>/dev/null || true
	done
	teardown_store
}

@test "limits are written to the v1 files and visible inside" {
	run md run --rm --cgroup-parent "$CGP" -m 32m --memory-swap 64m --memory-reservation 16m \
		--cpus 0.5 -c 512 --pids-limit 100 --cpuset-cpus 0 busybox sh -c '
		cd /sys/fs/cgroup
		echo mem=$(cat memory/memory.limit_in_bytes) memsw=$(cat memory/memory.memsw.limit_in_bytes)
		echo soft=$(cat memory/memory.soft_limit_in_bytes)
		echo quota=$(cat cpu/cpu.cfs_quota_us) period=$(cat cpu/cpu.cfs_period_us) shares=$(cat cpu/cpu.shares)
		echo pids=$(cat pids/pids.max) cpuset=$(cat cpuset/cpuset.cpus)
		grep Cpus_allowed_list /proc/self/status
		grep -c ":/$" /proc/self/cgroup
		touch /sys/fs/cgroup/memory/x 2>&1; echo 1 > memory/memory.limit_in_bytes 2>&1 || true'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"mem=33554432 memsw=67108864"* ]]
	[[ "$output" == *"soft=16777216"* ]]
	[[ "$output" == *"quota=50000 period=100000 shares=512"* ]]
	[[ "$output" == *"pids=100 cpuset=0"* ]]
	[[ "$output" =~ Cpus_allowed_list:[[:space:]]+0$'\n' ]]
	# Every hierarchy shows the container's own cgroup as "/" (cgroupns).
	[[ "$output" == *$'\n'"$(wc -l </proc/self/cgroup)"$'\n'* ]]
	[[ "$output" == *"Read-only file system"* ]]
	[ -z "$(cg_leaves)" ]
}

@test "a memory hog under -m 16m is OOM-killed: exit 137 and OOMKilled" {
	run md run --name hog --cgroup-parent "$CGP" -m 16m busybox tail /dev/zero
	[ "$status" -eq 137 ]
	run md inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}' hog
	[ "$output" = "true 137 16777216" ]
	[ -z "$(cg_leaves)" ]
}

@test "a container that is not OOM-killed has OOMKilled false" {
	run md run --name ok --cgroup-parent "$CGP" -m 16m busybox true
	[ "$status" -eq 0 ]
	run md inspect -f '{{.State.OOMKilled}}' ok
	[ "$output" = "false" ]
}

@test "a fork bomb stops at --pids-limit 50 and the host is fine" {
	run md run --rm --cgroup-parent "$CGP" --pids-limit 50 busybox sh -c '
		(b() { b & b & }; b) 2>/dev/null
		sleep 1
		read c </sys/fs/cgroup/pids/pids.current; read e </sys/fs/cgroup/pids/pids.events
		echo "current=$c $e"'
	echo "$output"
	[ "$status" -eq 0 ]
	local cur
	cur=$(sed -n 's/.*current=\([0-9]*\).*/\1/p' <<<"$output")
	[ "$cur" -le 50 ]
	[[ "$output" =~ max\ [1-9] ]]
	# The host still forks.
	run sh -c 'for i in 1 2 3 4 5; do /bin/true || exit 1; done; echo host-ok'
	[ "$output" = "host-ok" ]
	[ -z "$(cg_leaves)" ]
}

@test "--cpus 0.5 holds a busy loop to half a core (cpuacct over 3 s)" {
	run md run --rm --cgroup-parent "$CGP" --cpus 0.5 busybox sh -c '
		while :; do :; done &
		read a </sys/fs/cgroup/cpuacct/cpuacct.usage; sleep 3
		read b </sys/fs/cgroup/cpuacct/cpuacct.usage
		echo pct=$(( (b - a) / 30000000 ))
		grep nr_throttled /sys/fs/cgroup/cpu/cpu.stat'
	echo "$output"
	[ "$status" -eq 0 ]
	local pct thr
	pct=$(sed -n 's/^pct=//p' <<<"$output")
	thr=$(sed -n 's/^nr_throttled //p' <<<"$output")
	# At most half a core plus a tolerance; a loaded machine may give less,
	# but then the quota must still have throttled the loop.
	[ "$pct" -le 60 ]
	[ "$thr" -gt 0 ]
}

@test "devices: deny all but Docker's list; --device-cgroup-rule adds one" {
	run md run --rm --cgroup-parent "$CGP" busybox sh -c \
		'mknod /tmp/m c 1 1 && head -c1 /tmp/m; head -c1 /dev/zero | wc -c'
	[[ "$output" == *"Operation not permitted"* ]]
	[[ "$output" == *1 ]]
	run md run --rm --cgroup-parent "$CGP" --device-cgroup-rule 'c 1:1 r' busybox \
		cat /sys/fs/cgroup/devices/devices.list
	[[ "$output" == *"c 1:1 r"* ]]
	[[ "$output" == *"c 136:* rwm"* ]]
	[[ "$output" != *"a *:* rwm"* ]]
}

@test "bad limits are refused with Docker's messages (125)" {
	run md run --rm -m 1m busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Minimum memory limit allowed is 6MB"* ]]
	run md run --rm --memory-swap 64m busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"Memory limit when using Memoryswap"* ]]
	run md run --rm --cpus 0.5 --cpu-quota 50000 busybox true
	[ "$status" -eq 125 ]
	run md run --rm --blkio-weight 5 busybox true
	[ "$status" -eq 125 ]
	run md run --rm --device-cgroup-rule 'q 1:1 r' busybox true
	[ "$status" -eq 125 ]
}

@test "the cgroup of a killed runner is removed by the next command" {
	md run --name victim --cgroup-parent "$CGP" busybox sleep 60 &
	local i id
	for i in $(seq 50); do
		[ -n "$(cg_leaves)" ] && break
		sleep 0.1
	done
	[ -n "$(cg_leaves)" ]
	id=$(md inspect -f '{{.Id}}' victim)
	[ -d "/sys/fs/cgroup/memory/$CGP/$id" ]
	pkill -KILL -f "name victim --cgroup-parent $CGP"
	wait || true
	sleep 6 # older than the prune grace period
	run md run --rm --cgroup-parent "$CGP" busybox true
	[ "$status" -eq 0 ]
	[ -z "$(cg_leaves)" ]
}

@test "stats --no-stream shows a running container's memory, CPU and pids" {
	md run --name busy --cgroup-parent "$CGP" -m 64m busybox sh -c 'sleep 30' &
	local i
	for i in $(seq 50); do
		[ -n "$(cg_leaves)" ] && break
		sleep 0.1
	done
	run md stats --no-stream
	echo "$output"
	pkill -KILL -f "name busy --cgroup-parent $CGP" || true
	wait || true
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "CONTAINER ID"*"CPU %"*"MEM USAGE / LIMIT"*"PIDS" ]]
	[[ "$output" == *"busy"*"/ 64MiB"* ]]
}
