#!/bin/bash
# bench/lifecycle.sh: monitor memory per detached container, `ps` time with
# N containers running, and `exec true` latency; podman beside it on the
# same image (a private --root/--runroot) when it is installed.
# N= (containers, default 50), RUNS= (exec/ps repetitions, default 20).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
N=${N:-50}
RUNS=${RUNS:-20}

bench_scratch
ROOT=$SCRATCH/store
md() { "$MYDOCKER" --root "$ROOT" "$@"; }

mydocker_cleanup() {
	local id
	for id in $(md ps -aq --no-trunc 2>/dev/null); do md rm -f "$id" >/dev/null 2>&1 || true; done
}
BENCH_CLEANUP_HOOKS+=(mydocker_cleanup)

# mean_ms CMD...: mean wall time of RUNS runs, in ms with 2 decimals.
mean_ms() {
	local i t0 total=0
	for ((i = 0; i < RUNS; i++)); do
		t0=$(bench_now_us)
		"$@" >/dev/null 2>&1
		total=$((total + $(bench_now_us) - t0))
	done
	awk -v t="$total" -v n="$RUNS" 'BEGIN { printf "%.2f", t / n / 1000 }'
}

# rss_kb FIELD PID...: mean of a /proc/PID/status field (kB) or "Pss" from smaps_rollup.
rss_kb() {
	local f=$1 p sum=0 n=0 v
	shift
	for p in "$@"; do
		if [ "$f" = Pss ]; then
			v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup")
		else
			v=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$p/status")
		fi
		sum=$((sum + v)); n=$((n + 1))
	done
	echo $((sum / n))
}

bench_mydocker() {
	local i pids=()
	md import "$BUSYBOX_TAR" busybox >/dev/null
	for ((i = 0; i < N; i++)); do md run -d --network none busybox sleep 100000 >/dev/null; done
	for st in "$ROOT"/containers/*/state.json; do
		pids+=("$(sed -n 's/.*"MonitorPid": *\([0-9]*\).*/\1/p' "$st")")
	done
	echo "mydocker monitor: RSS $(rss_kb VmRSS "${pids[@]}") kB, RssAnon $(rss_kb RssAnon "${pids[@]}") kB, PSS $(rss_kb Pss "${pids[@]}") kB (mean of $N)"
	echo "mydocker ps ($N running): $(mean_ms md ps) ms"
	echo "mydocker exec true: $(mean_ms md exec "$(md ps -lq)" true) ms"
	local t0
	t0=$(bench_now_us)
	# shellcheck disable=SC2046 # one argument per id
	md stop -t 1 $(md ps -q) >/dev/null
	echo "mydocker stop of $N: $(( ($(bench_now_us) - t0) / 1000 )) ms"
	mydocker_cleanup
}

bench_podman() {
	local pr=(podman --root "$SCRATCH/podman" --runroot "$SCRATCH/podman-run" --cgroup-manager cgroupfs --events-backend none)
	local i pids=()
	# podman's storage must be reset by podman (its layers are not plain dirs).
	podman_cleanup() {
		"${pr[@]}" rm -af -t 0 >/dev/null 2>&1 || true
		"${pr[@]}" system reset -f >/dev/null 2>&1 || true
	}
	BENCH_CLEANUP_HOOKS+=(podman_cleanup)
	"${pr[@]}" import "$BUSYBOX_TAR" localhost/busybox >/dev/null
	for ((i = 0; i < N; i++)); do
		# runc, and rlimits within our hard limits: podman's crun fails on
		# this host (setrlimit RLIMIT_NOFILE without CAP_SYS_RESOURCE).
		"${pr[@]}" run -d --runtime runc --network none --ulimit nofile=1024:1024 \
			--ulimit nproc=4096:4096 localhost/busybox sleep 100000 >/dev/null ||
			{ bench_log "podman run failed here: no podman figures"; podman_cleanup; return 0; }
	done
	mapfile -t pids < <(pgrep -f "conmon.*$SCRATCH/podman" || true)
	[ "${#pids[@]}" -gt 0 ] &&
		echo "podman conmon: RSS $(rss_kb VmRSS "${pids[@]}") kB, RssAnon $(rss_kb RssAnon "${pids[@]}") kB, PSS $(rss_kb Pss "${pids[@]}") kB (mean of ${#pids[@]})"
	echo "podman ps ($N running): $(mean_ms "${pr[@]}" ps) ms"
	echo "podman exec true: $(mean_ms "${pr[@]}" exec -l true) ms"
	podman_cleanup
}

bench_mydocker
if [ -z "${NO_PODMAN:-}" ] && command -v podman >/dev/null; then bench_podman; else bench_log "podman not installed: skipped"; fi
