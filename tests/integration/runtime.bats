#!/usr/bin/env bats
# The runtime core on its own: tests/rt_harness runs runtime_run against a
# busybox rootfs (no store, no image), one fresh copy per test.

load helpers
bats_require_minimum_version 1.5.0

: "${RT_HARNESS:=$BATS_TEST_DIRNAME/../../build/tests/rt_harness}"

# One busybox rootfs per file: from the image tar when there is one, else
# from the host's static busybox.
setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	BASE_ROOTFS=$(mktemp -d /tmp/mydocker-rtbase.XXXXXX)
	export BASE_ROOTFS
	if [ -f "$BUSYBOX_TAR" ]; then
		tar -xf "$BUSYBOX_TAR" -C "$BASE_ROOTFS"
	else
		mkdir -p "$BASE_ROOTFS/bin" "$BASE_ROOTFS/etc"
		cp "$(command -v busybox)" "$BASE_ROOTFS/bin/busybox"
		chroot "$BASE_ROOTFS" /bin/busybox --install -s /bin
		echo 'root:x:0:0:root:/root:/bin/sh' >"$BASE_ROOTFS/etc/passwd"
		echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>"$BASE_ROOTFS/etc/passwd"
		printf 'root:x:0:\ntty:x:5:\nnobody:x:65534:\n' >"$BASE_ROOTFS/etc/group"
	fi
}

teardown_file() {
	[ -n "${BASE_ROOTFS:-}" ] && rm -rf "$BASE_ROOTFS"
	return 0
}

setup() {
	setup_store
	[ -x "$RT_HARNESS" ] || skip "rt_harness not built (make unit-bins)"
	ROOTFS=$TEST_TMP/rootfs
	cp -a "$BASE_ROOTFS" "$ROOTFS"
	chmod 755 "$ROOTFS"
}

teardown() {
	if [ -n "${TMUX_SOCK:-}" ]; then
		tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	fi
	teardown_store
}

rt() {
	"$RT_HARNESS" "$@"
}

# Pids of the processes whose command line is exactly "$@" (a unique sleep
# duration marks a test's container processes).
procs_running() {
	local f want="$*" cmd
	for f in /proc/[0-9]*/cmdline; do
		cmd=$({ tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
		[ "$cmd" = "$want " ] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
	done
	return 0
}

@test "pid-1-is-the-command" {
	run rt "$ROOTFS" sh -c 'echo $$'
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
}

@test "init-is-pid-1-and-the-command-pid-2" {
	run rt --init "$ROOTFS" sh -c 'echo $$; cat /proc/1/comm'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 2 ]
}

@test "hostname-differs-from-the-host" {
	run rt "$ROOTFS" hostname
	[ "$status" -eq 0 ]
	[ "$output" != "$(hostname)" ]
	run rt --hostname mydocker-rt "$ROOTFS" sh -c 'hostname; echo $HOSTNAME'
	[ "${lines[0]}" = mydocker-rt ]
	[ "${lines[1]}" = mydocker-rt ]
}

@test "environment-defaults" {
	run rt -e FOO=bar "$ROOTFS" env
	[ "$status" -eq 0 ]
	[[ "$output" == *"FOO=bar"* ]]
	[[ "$output" == *"HOME=/root"* ]]
	[[ "$output" == *"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"* ]]
	[[ "$output" != *"TERM="* ]]
}

@test "masked-and-readonly-proc-paths" {
	run rt "$ROOTFS" sh -c '
		for f in /proc/kcore /proc/keys /proc/timer_list /proc/interrupts; do
			[ -e $f ] || continue; [ "$(wc -c < $f)" = 0 ] || echo "readable $f"; done
		[ -z "$(ls /sys/firmware)" ] || echo "firmware visible"
		(echo x > /proc/sys/kernel/domainname) 2>/dev/null && echo "proc/sys writable"
		(touch /sys/x) 2>/dev/null && echo "sys writable"
		echo done'
	[ "$status" -eq 0 ]
	[ "$output" = done ]
}

@test "no-host-mounts-visible" {
	run rt "$ROOTFS" cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	local mp
	for mp in $(echo "$output" | awk '{ print $5 }'); do
		case "$mp" in
		/ | /proc | /proc/* | /sys | /sys/* | /dev | /dev/*) ;;
		*) echo "unexpected mount $mp"; return 1 ;;
		esac
	done
	[ "${#lines[@]}" -lt 40 ]
}

@test "exit-codes-0-1-126-127" {
	run rt "$ROOTFS" true
	[ "$status" -eq 0 ]
	run rt "$ROOTFS" false
	[ "$status" -eq 1 ]
	run rt "$ROOTFS" /etc/passwd
	[ "$status" -eq 126 ]
	[[ "$output" == *'exec: "/etc/passwd": permission denied'* ]]
	run rt "$ROOTFS" /etc
	[ "$status" -eq 126 ]
	run -127 rt "$ROOTFS" nosuch
	[ "$status" -eq 127 ]
	[[ "$output" == *'exec: "nosuch": executable file not found in $PATH'* ]]
}

@test "exit-code-137-on-sigkill-and-130-on-sigint" {
	run rt --init "$ROOTFS" sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
	# Without --init the killed process must not be PID 1 (which ignores it).
	run rt "$ROOTFS" sh -c 'sh -c "kill -9 \$\$"; exit $?'
	[ "$status" -eq 137 ]
	run rt --init "$ROOTFS" sh -c 'kill -INT $$; sleep 5'
	[ "$status" -eq 130 ]
}

@test "signals-are-forwarded-to-the-container" {
	"$RT_HARNESS" --init "$ROOTFS" sleep 1005 &
	local pid=$! rc=0 i
	for i in $(seq 50); do [ -n "$(procs_running sleep 1005)" ] && break; sleep 0.1; done
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 143 ]
	# A PID 1 with a handler gets the signal itself.
	mkdir "$TEST_TMP/vol"
	"$RT_HARNESS" --bind "$TEST_TMP/vol:/data" "$ROOTFS" \
		sh -c 'trap "exit 7" TERM; touch /data/ready; while :; do sleep 0.1; done' &
	pid=$!
	for i in $(seq 50); do [ -e "$TEST_TMP/vol/ready" ] && break; sleep 0.1; done
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 7 ]
}

@test "stdin-is-dev-null-without-i" {
	run bash -c 'echo hello | "$0" "$1" cat' "$RT_HARNESS" "$ROOTFS"
	[ "$status" -eq 0 ]
	[ "$output" = "" ]
	run bash -c 'echo hello | "$0" -i "$1" cat' "$RT_HARNESS" "$ROOTFS"
	[ "$output" = hello ]
}

@test "bind-volume-read-write-and-read-only" {
	mkdir "$TEST_TMP/vol"
	echo from-host >"$TEST_TMP/vol/in"
	run rt --bind "$TEST_TMP/vol:/data" "$ROOTFS" sh -c 'cat /data/in; echo from-ctr > /data/out'
	[ "$status" -eq 0 ]
	[ "$output" = from-host ]
	[ "$(cat "$TEST_TMP/vol/out")" = from-ctr ]
	run rt --bind "$TEST_TMP/vol:/data:ro" "$ROOTFS" sh -c 'cat /data/in; echo x > /data/ro'
	[ "$status" -ne 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ ! -e "$TEST_TMP/vol/ro" ]
}

@test "bind-file-and-hosts-file" {
	echo "10.9.8.7 mydocker-peer" >"$TEST_TMP/hosts"
	echo file-vol >"$TEST_TMP/f"
	run rt --hosts "$TEST_TMP/hosts" --bind "$TEST_TMP/f:/new/dir/f" "$ROOTFS" \
		sh -c 'cat /etc/hosts /new/dir/f'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "10.9.8.7 mydocker-peer" ]
	[ "${lines[1]}" = file-vol ]
}

@test "cve-2021-30465-bind-destination-symlink-stays-in-rootfs" {
	ln -s / "$ROOTFS/link"
	mkdir "$TEST_TMP/vol" "$TEST_TMP/sentinel"
	echo host >"$TEST_TMP/sentinel/file"
	run rt --bind "$TEST_TMP/vol:/link$TEST_TMP/sentinel" "$ROOTFS" \
		sh -c "echo container > $TEST_TMP/sentinel/file"
	[ "$status" -eq 0 ]
	# The mount landed on a directory made inside the rootfs ...
	[ -d "$ROOTFS$TEST_TMP/sentinel" ]
	[ "$(cat "$TEST_TMP/vol/file")" = container ]
	# ... and the host's directory of that name was never touched.
	[ "$(cat "$TEST_TMP/sentinel/file")" = host ]
}

@test "mount-destination-under-proc-is-refused" {
	mkdir "$TEST_TMP/vol"
	run rt --bind "$TEST_TMP/vol:/proc/sys/kernel" "$ROOTFS" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid mount destination"* ]]
	run rt --bind "$TEST_TMP/vol://proc/../proc" "$ROOTFS" true
	[ "$status" -eq 125 ]
	ln -s /proc "$ROOTFS/p"
	run rt --bind "$TEST_TMP/vol:/p/sys" "$ROOTFS" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid mount destination"* ]]
}

@test "cve-2019-16884-proc-symlink-in-rootfs-is-refused" {
	rm -rf "$ROOTFS/proc"
	mkdir "$TEST_TMP/fakeproc"
	ln -s "$TEST_TMP/fakeproc" "$ROOTFS/proc"
	run rt "$ROOTFS" true
	[ "$status" -eq 125 ]
	[[ "$output" == *"symlink"* ]]
	[ -z "$(ls "$TEST_TMP/fakeproc")" ]
}

@test "no-leaked-fds-in-the-container" {
	exec 7</etc/passwd
	run rt "$ROOTFS" sh -c 'ls /proc/1/fd; true'
	exec 7<&-
	[ "$status" -eq 0 ]
	echo "$output"
	[ "$(echo $output)" = "0 1 2" ]
	exec 7</etc/passwd
	run rt --init "$ROOTFS" ls /proc/1/fd
	exec 7<&-
	[ "$(echo $output)" = "0 1 2" ]
}

@test "cve-2024-21626-cwd-through-proc-self-fd-fails" {
	exec 7<"$TEST_TMP"
	run rt -w /proc/self/fd/7 "$ROOTFS" pwd
	exec 7<&-
	[ "$status" -eq 125 ]
	[[ "$output" == *'chdir to cwd "/proc/self/fd/7"'* ]]
	run rt -w /made/by/docker "$ROOTFS" pwd
	[ "$status" -eq 0 ]
	[ "$output" = /made/by/docker ]
}

@test "readonly-rootfs" {
	run rt --ro "$ROOTFS" sh -c 'touch /x 2>&1; touch /dev/shm/ok && echo shm-ok'
	[ "$status" -eq 0 ]
	[[ "$output" == *"Read-only file system"* ]]
	[[ "$output" == *shm-ok* ]]
	[ ! -e "$ROOTFS/x" ]
}

@test "dev-has-only-the-default-nodes" {
	run rt "$ROOTFS" sh -c 'ls /dev | tr "\n" " "; echo; echo hi > /dev/null && head -c 4 /dev/zero | wc -c'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero " ]
	[ "${lines[1]}" = 4 ]
}

@test "userns-maps-root-to-an-unprivileged-id" {
	chown -R 100000:100000 "$ROOTFS"
	chmod 755 "$TEST_TMP"
	run rt --userns "$ROOTFS" sh -c 'id -u; cat /proc/self/uid_map; echo x > /dev/null && echo null-ok'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 0 ]
	[ "$(echo ${lines[1]})" = "0 100000 65536" ]
	[ "${lines[2]}" = null-ok ]
}

@test "tty-session-in-tmux" {
	command -v tmux >/dev/null || skip "tmux not installed"
	# The server's socket lives in TEST_TMP, so teardown removes it too.
	TMUX_SOCK=$TEST_TMP/tmux.sock
	local t="tmux -S $TMUX_SOCK"
	$t new-session -d -x 91 -y 27 "$RT_HARNESS -t -i $ROOTFS sh; echo harness-exit=\$?; sleep 60"
	sleep 1
	$t send-keys 'echo $((6*7))' Enter
	$t send-keys 'stty size; echo $TERM; tty' Enter
	sleep 1
	run $t capture-pane -p
	[[ "$output" == *$'\n42'* ]]
	[[ "$output" == *"27 91"* ]]
	[[ "$output" == *"xterm"* ]]
	[[ "$output" == *"/dev/pts/0"* ]]
	$t resize-window -x 101 -y 33
	sleep 0.5
	$t send-keys 'stty size' Enter
	sleep 0.5
	run $t capture-pane -p
	[[ "$output" == *"33 101"* ]]
	$t send-keys 'exit 3' Enter
	sleep 1
	run $t capture-pane -p
	[[ "$output" == *"harness-exit=3"* ]]
}

@test "nothing-left-behind" {
	run rt --init "$ROOTFS" sh -c 'sleep 1003 & sleep 1003 & sleep 0.2; echo started'
	[ "$output" = started ]
	sleep 0.3
	[ -z "$(procs_running sleep 1003)" ]
	run rt "$ROOTFS" sh -c 'sleep 1004 & sleep 0.2; echo started'
	sleep 0.3
	[ -z "$(procs_running sleep 1004)" ]
	assert_no_mounts
}

@test "failing-hook-kills-the-child" {
	run rt --hook-fail "$ROOTFS" sleep 1001
	[ "$status" -eq 125 ]
	[[ "$output" == *"on_created hook refused container"* ]]
	[ -z "$(procs_running sleep 1001)" ]
}

@test "container-dies-with-its-runtime-process" {
	"$RT_HARNESS" --user 65534 "$ROOTFS" sleep 1002 &
	local pid=$! i
	for i in $(seq 50); do [ -n "$(procs_running sleep 1002)" ] && break; sleep 0.1; done
	[ -n "$(procs_running sleep 1002)" ]
	kill -9 "$pid"
	wait "$pid" || true
	sleep 0.3
	[ -z "$(procs_running sleep 1002)" ]
}

@test "cgroup-namespace-root-is-the-container-cgroup" {
	run rt "$ROOTFS" cat /proc/self/cgroup
	[ "$status" -eq 0 ]
	[[ "$output" == *"0::/"* ]]
	[[ "$output" != *"/.."* ]]
}
