#!/usr/bin/env bats
# The tiny per-container monitor (monitor/): its memory, and what it does
# through `mydocker __start` / `__exited` (OOM, restarts, stdin EOF).

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_store
	load_busybox
}

teardown() {
	if [ -n "${ROOT:-}" ] && [ -d "$ROOT/containers" ]; then
		for id in $(md ps -aq --no-trunc 2>/dev/null); do
			md rm -f "$id" >/dev/null 2>&1 || true
		done
	fi
	teardown_store
}

monitor_pid() {
	sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$ROOT"/containers/"$1"*/state.json
}

@test "monitor: a subreaper under 1 MiB RSS, the container its child" {
	id=$(md run -d --network none busybox sleep 1000)
	mpid=$(monitor_pid "$id")
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$mpid/status")
	echo "monitor RSS ${rss} kB"
	[ "$rss" -lt 1024 ]
	[ "$(readlink "/proc/$mpid/exe")" != "$(readlink -f "$MYDOCKER")" ]
	cpid=$(md inspect -f '{{.State.Pid}}' "$id")
	[ "$(awk '{ print $4 }' "/proc/$cpid/stat")" = "$mpid" ]
}

@test "monitor: OOMKilled is recorded for a detached container" {
	md run -d --name hog -m 16m --memory-swap 16m --network none busybox \
		sh -c 'x=a; while :; do x="$x$x"; done' >/dev/null
	for _ in $(seq 50); do [ "$(md inspect -f '{{.State.Status}}' hog)" = exited ] && break; sleep 0.1; done
	[ "$(md inspect -f '{{.State.OOMKilled}}' hog)" = true ]
	[ "$(md inspect -f '{{.State.ExitCode}}' hog)" = 137 ]
}

@test "monitor: stop during the restart back-off ends it, exited, unmounted" {
	md run -d --name loop --restart always --network none busybox sh -c 'exit 1' >/dev/null
	sleep 0.5
	md stop -t 1 loop
	[ "$(md inspect -f '{{.State.Status}}' loop)" = exited ]
	[ -z "$(md ps -q)" ]
	assert_no_mounts
}

@test "monitor: start -a -i: stdin EOF reaches the container" {
	id=$(md create -i --network none busybox cat)
	run timeout 10 sh -c "echo catme | '$MYDOCKER' --root '$ROOT' start -a -i $id"
	[ "$status" -eq 0 ]
	[ "$output" = catme ]
}

@test "monitor: --rm removes the container after it exits" {
	md run -d --rm --network none busybox true >/dev/null
	for _ in $(seq 30); do [ -z "$(md ps -aq)" ] && break; sleep 0.1; done
	[ -z "$(md ps -aq)" ]
	assert_no_mounts
}
