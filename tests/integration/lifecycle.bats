#!/usr/bin/env bats
# Container lifecycle without a daemon: run -d and its monitor, logs, exec,
# stop/kill, crash recovery, restart policies, many containers at once.

load helpers
bats_require_minimum_version 1.5.0

setup() {
	setup_store
	load_busybox
}

# Stop every container of the test store (monitors included), then the
# usual unmount + rm of the store.
teardown() {
	if [ -n "${ROOT:-}" ] && [ -d "$ROOT/containers" ]; then
		for id in $(md ps -aq --no-trunc 2>/dev/null); do
			md rm -f "$id" >/dev/null 2>&1 || true
		done
		# A monitor that survived anyway: by its recorded pid only.
		for st in "$ROOT"/containers/*/state.json; do
			[ -f "$st" ] || continue
			mpid=$(sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$st")
			[ -n "$mpid" ] && [ "$mpid" != 0 ] && kill -9 "$mpid" 2>/dev/null || true
		done
	fi
	# The --cgroup-parent of the recovery test, with whatever is left in it.
	if [ -n "${CGP:-}" ]; then
		for d in /sys/fs/cgroup/*/"$CGP"; do
			[ -d "$d" ] || continue
			find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
			rmdir "$d" 2>/dev/null || true
		done
	fi
	teardown_store
}

# state_of CTR: the Status field, through inspect.
state_of() {
	md inspect -f '{{.State.Status}}' "$1"
}

@test "run -d: a detached httpd keeps running after run returns" {
	run md run -d --name web --network none busybox httpd -f -p 8080
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	sleep 0.5
	[ "$(state_of web)" = running ]
	run md exec web wget -q -O- http://127.0.0.1:8080/
	# busybox httpd answers 404 without an index: the server answered.
	[[ "$output" =~ 404 ]] || [ "$status" -eq 0 ] || [ "$status" -eq 1 ]
	run md ps --format '{{.Names}} {{.State}}'
	[ "$output" = "web running" ]
}

@test "logs: captured with streams; -f streams new lines; --tail" {
	md run -d --name talk --network none busybox sh -c \
		'echo first; echo oops >&2; i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); sleep 0.1; done' >/dev/null
	sleep 0.3
	run md logs talk
	[[ "${lines[0]}" = first ]]
	md logs talk 2>&1 >/dev/null | grep -q oops
	md logs -f talk > "$TEST_TMP/follow" &
	fpid=$!
	sleep 1.5
	grep -q line10 "$TEST_TMP/follow"
	wait "$fpid"  # -f ends when the container exits
	grep -q line29 "$TEST_TMP/follow"
	run md logs --tail 2 talk
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[1]}" = line29 ]
	grep -q '"stream":"stderr"' "$ROOT"/containers/*/ctr.log
	run md logs -t --tail 1 talk
	[[ "$output" =~ ^20[0-9-]+T[0-9:.]+Z\ line29$ ]]
}

@test "exec: same PID namespace and hostname, exit code returned" {
	md run -d --name box --hostname boxhost --network none busybox sleep 100 >/dev/null
	run md exec box hostname
	[ "$output" = boxhost ]
	run md exec box sh -c 'cat /proc/1/cmdline | tr "\0" " "'
	[[ "$output" =~ ^sleep\ 100 ]]
	run md exec box sh -c 'exit 7'
	[ "$status" -eq 7 ]
	run -127 md exec box nosuchcmd
	[ "$status" -eq 127 ]
	# Found, but the kernel cannot run it (ENOEXEC): 126, as for run.
	md exec box sh -c 'printf "xx\n" >/bad && chmod +x /bad'
	run -126 md exec box /bad
	[[ "$output" == *'exec: "/bad": Exec format error'* ]]
	run md exec -e FOO=bar -w /tmp box sh -c 'echo $FOO $(pwd)'
	[ "$output" = "bar /tmp" ]
	run md exec -u 65534 box id -u
	[ "$output" = 65534 ]
}

@test "stop: < 1 s with a SIGTERM handler, ~t s when SIGTERM is ignored" {
	md run -d --name nice --network none busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
	md run -d --name rude --network none busybox sleep 1000 >/dev/null
	sleep 0.3
	start=$(date +%s%N)
	md stop nice
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "nice: ${ms} ms"
	[ "$ms" -lt 1000 ]
	[ "$(md inspect -f '{{.State.ExitCode}}' nice)" = 0 ]
	start=$(date +%s%N)
	md stop -t 2 rude
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "rude: ${ms} ms"
	[ "$ms" -ge 1900 ] && [ "$ms" -lt 3500 ]
	[ "$(md inspect -f '{{.State.ExitCode}}' rude)" = 137 ]
	assert_no_mounts
}

@test "restart of several containers: stopped in parallel, one timeout for all" {
	for i in 1 2 3; do
		md run -d --name "rude$i" --network none busybox sleep 1000 >/dev/null
	done
	sleep 0.3
	before=$(md inspect -f '{{.State.Pid}}' rude1)
	start=$(date +%s%N)
	run md restart -t 2 rude1 rude2 rude3
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "$output; ${ms} ms"
	[ "$status" -eq 0 ]
	[ "$output" = $'rude1\nrude2\nrude3' ]
	# One after another it would take 3 x 2 s.
	[ "$ms" -ge 1900 ] && [ "$ms" -lt 4500 ]
	for i in 1 2 3; do
		[ "$(state_of "rude$i")" = running ]
	done
	[ "$(md inspect -f '{{.State.Pid}}' rude1)" != "$before" ]
}

@test "kill -9 of the monitor: ps -a shows exited, nothing mounted" {
	md run -d --name victim --network none busybox sleep 1000 >/dev/null
	st=$(cat "$ROOT"/containers/*/state.json)
	mpid=$(echo "$st" | sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p')
	cpid=$(echo "$st" | sed -n 's/.*"Pid": *\([0-9]*\).*/\1/p')
	[ "$mpid" -gt 0 ]
	kill -9 "$mpid"
	sleep 0.3
	run md ps -a --format '{{.Names}} {{.State}}'
	[ "$output" = "victim exited" ]
	! kill -0 "$cpid" 2>/dev/null
	assert_no_mounts
	md rm victim
}

@test "kill -9 of the monitor: recovery removes the cgroup under --cgroup-parent" {
	CGP="mydocker-bats-$$-recover"
	md run -d --name victim --cgroup-parent "$CGP" --network none busybox sleep 1000 >/dev/null
	id=$(md inspect -f '{{.Id}}' victim)
	leaves=$(ls -d /sys/fs/cgroup/*/"$CGP/$id" 2>/dev/null)
	[ -n "$leaves" ]
	mpid=$(sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$ROOT/containers/$id/state.json")
	[ "$mpid" -gt 0 ]
	kill -9 "$mpid"
	sleep 0.3
	[ "$(state_of victim)" = exited ]
	for l in $leaves; do
		[ ! -d "$l" ] || { echo "left behind: $l"; return 1; }
	done
	md rm victim
}

@test "--restart on-failure:3 restarts exactly 3 times" {
	md run -d --name flaky --restart on-failure:3 --network none busybox sh -c 'echo run; exit 3' >/dev/null
	for _ in $(seq 50); do
		[ "$(state_of flaky)" = exited ] && [ "$(md inspect -f '{{.RestartCount}}' flaky)" = 3 ] && break
		sleep 0.1
	done
	[ "$(md inspect -f '{{.RestartCount}}' flaky)" = 3 ]
	[ "$(md inspect -f '{{.State.ExitCode}}' flaky)" = 3 ]
	[ "$(md logs flaky | grep -c run)" = 4 ]
	assert_no_mounts
}

@test "create, start, restart, pause/unpause, wait, rename, rm" {
	id=$(md create --name c1 --network none busybox sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
	[ "$(state_of c1)" = created ]
	md start c1
	[ "$(state_of c1)" = running ]
	md pause c1
	[ "$(state_of c1)" = paused ]
	run md exec c1 true
	[ "$status" -ne 0 ]
	md unpause c1
	[ "$(state_of c1)" = running ]
	md restart -t 1 c1
	[ "$(state_of c1)" = running ]
	md rename c1 c2
	[ "$(md inspect -f '{{.Id}}' c2)" = "$id" ]
	md stop c2
	[ "$(md wait c2)" = 0 ]
	run md rm c2
	[ "$status" -eq 0 ]
	run md ps -aq
	[ -z "$output" ]
}

@test "name and id prefixes resolve; ambiguous prefix is an error" {
	id=$(md create --name pfx --network none busybox true)
	run md inspect -f '{{.Name}}' "${id:0:6}"
	[ "$output" = /pfx ]
	run md rm nosuch
	[ "$status" -ne 0 ]
	[[ "$output" =~ "No such container" ]]
}

@test "50 detached containers start and stop cleanly" {
	for i in $(seq 50); do
		md run -d --name "many$i" --network none busybox sleep 1000 >/dev/null
	done
	[ "$(md ps -q | wc -l)" = 50 ]
	md stop -t 1 $(md ps -q) >/dev/null
	[ "$(md ps -q | wc -l)" = 0 ]
	[ "$(md ps -a --filter status=exited -q | wc -l)" = 50 ]
	assert_no_mounts
	md container prune -f >/dev/null
	[ "$(md ps -aq | wc -l)" = 0 ]
}
