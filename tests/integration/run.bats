#!/usr/bin/env bats
# `mydocker run` end to end: image config, process options, isolation,
# exit codes, cleanup. Each test runs real containers on a private store.

load helpers

setup() {
	setup_store
	load_busybox
}
teardown() { teardown_store; }

@test "run: echo from the busybox image" {
	run md run --rm busybox echo hello
	[ "$status" -eq 0 ]
	[ "$output" = "hello" ]
}

@test "run: PID 1 in its own PID namespace, own hostname, no host mounts" {
	run md run --rm busybox sh -c 'echo $$; hostname; cat /proc/1/cmdline | tr "\0" " "'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[ "${lines[1]}" != "$(hostname)" ]
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}$ ]]
	run md run --rm --hostname box1 busybox hostname
	[ "$output" = box1 ]
	# Nothing of the host's mount table is visible: no /work, no host /boot...
	run md run --rm busybox cat /proc/self/mountinfo
	[ "$status" -eq 0 ]
	! echo "$output" | grep -q " /work "
	! echo "$output" | grep -q "$TEST_TMP"
	[ "$(echo "$output" | awk '$5 == "/"' | wc -l)" -eq 1 ]
}

@test "run: each namespace differs from the host's" {
	for ns in mnt uts ipc pid net cgroup; do
		host=$(readlink /proc/self/ns/$ns)
		ctr=$(md run --rm busybox readlink /proc/self/ns/$ns)
		[ -n "$ctr" ] && [ "$host" != "$ctr" ] || { echo "$ns: $host vs $ctr"; return 1; }
	done
	# --network host shares the host's network namespace only.
	[ "$(md run --rm --network host busybox readlink /proc/self/ns/net)" = "$(readlink /proc/self/ns/net)" ]
}

@test "run: --network none has only lo" {
	run md run --rm --network none busybox ls /sys/class/net
	[ "$status" -eq 0 ]
	[ "$output" = lo ]
}

@test "run: exit codes 0, 1, 42, 126, 127, signal" {
	run md run --rm busybox true;            [ "$status" -eq 0 ]
	run md run --rm busybox false;           [ "$status" -eq 1 ]
	run md run --rm busybox sh -c 'exit 42'; [ "$status" -eq 42 ]
	run md run --rm busybox /etc/passwd
	[ "$status" -eq 126 ]
	[[ "$output" == *"permission denied"* ]]
	run -127 md run --rm busybox nosuch
	[ "$status" -eq 127 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *'exec: "nosuch": executable file not found in $PATH'* ]]
	# PID 1 ignores signals it has no handler for, as in Docker: with
	# --init the shell is not PID 1 and dies of SIGKILL.
	run md run --rm --init busybox sh -c 'kill -9 $$'
	[ "$status" -eq 137 ]
}

@test "run: missing image, bad flag, missing bind source -> one line, 125, store unchanged" {
	before=$(find "$ROOT" -path "$ROOT/tmp" -prune -o -print | sort)
	run md run --rm nosuchimage true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"Unable to find image 'nosuchimage' locally"* ]]
	run md run --rm --bogus busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	run md run --rm -v /nonexistent/mydocker:/data busybox true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"bind source path does not exist: /nonexistent/mydocker"* ]]
	[ ! -e /nonexistent/mydocker ]
	after=$(find "$ROOT" -path "$ROOT/tmp" -prune -o -print | sort)
	[ "$before" = "$after" ]
}

@test "run: env from image, -e, --env-file, -e KEY from the caller" {
	printf 'FROMFILE=1\n# comment\nOVER=file\n' > "$TEST_TMP/envf"
	FROMHOST=yes run md run --rm -e A=1 -e OVER=flag -e FROMHOST --env-file "$TEST_TMP/envf" busybox env
	[ "$status" -eq 0 ]
	[[ "$output" == *"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"* ]]
	[[ "$output" == *"A=1"* ]]
	[[ "$output" == *"FROMFILE=1"* ]]
	[[ "$output" == *"OVER=flag"* ]]
	[[ "$output" == *"FROMHOST=yes"* ]]
	[[ "$output" == *"HOSTNAME="* ]]
	[[ "$output" == *"HOME=/root"* ]]
}

@test "run: -w, -u uid:gid and name, image CMD/ENTRYPOINT and --entrypoint" {
	run md run --rm -w /tmp/new/dir busybox pwd
	[ "$output" = /tmp/new/dir ]
	run md run --rm -u 1000:1000 busybox id
	[ "$output" = "uid=1000(user) gid=1000(user) groups=1000(user)" ]
	run md run --rm -u nobody busybox id -u
	[ "$output" = 65534 ]
	run md run --rm -u nosuchuser busybox id
	[ "$status" -eq 125 ]
	[[ "$output" == *"unable to find user nosuchuser"* ]]
	md import --change 'ENTRYPOINT ["echo", "ep"]' --change 'CMD ["default"]' "$BUSYBOX_TAR" epimg >/dev/null
	[ "$(md run --rm epimg)" = "ep default" ]
	[ "$(md run --rm epimg given)" = "ep given" ]
	[ "$(md run --rm --entrypoint echo epimg other)" = "other" ]
	md import --change 'WORKDIR /etc' --change 'USER 1000' "$BUSYBOX_TAR" wdimg >/dev/null
	[ "$(md run --rm wdimg sh -c 'pwd; id -u')" = "$(printf '/etc\n1000')" ]
}

@test "run: writes go to the container's upper layer, never to the image layer" {
	layer=$(ls "$ROOT/layers")
	before=$(cd "$ROOT/layers/$layer/diff" && find . -printf '%p %s %m\n' | sort | sha256sum)
	md run --name w1 busybox sh -c 'echo data > /new; rm /bin/ls; echo x >> /etc/passwd'
	id=$(md inspect -f '{{.Id}}' w1)
	up=$ROOT/containers/$id/upper
	[ "$(cat "$up/new")" = data ]
	# The deleted lower file is a whiteout in the upper layer (overlay form).
	[ "$(stat -c '%F %t:%T' "$up/bin/ls")" = "character special file 0:0" ]
	after=$(cd "$ROOT/layers/$layer/diff" && find . -printf '%p %s %m\n' | sort | sha256sum)
	[ "$before" = "$after" ]
	md rm w1
	[ ! -d "$ROOT/containers/$id" ]
}

@test "run: --read-only root, writable --tmpfs" {
	run md run --rm --read-only busybox touch /x
	[ "$status" -ne 0 ]
	run md run --rm --read-only --tmpfs /scratch busybox sh -c 'touch /scratch/x && echo ok'
	[ "$output" = ok ]
}

@test "run: /etc/hostname, /etc/hosts and /etc/resolv.conf are provided" {
	run md run --rm --hostname hbox busybox sh -c 'cat /etc/hostname; grep -c localhost /etc/hosts; test -s /etc/resolv.conf && echo resolv'
	[ "${lines[0]}" = hbox ]
	[ "${lines[1]}" -ge 1 ]
	[ "${lines[2]}" = resolv ]
}

@test "run: --rm leaves no container, mount or process; failed start leaves no mount" {
	md run --rm busybox true
	[ -z "$(ls "$ROOT/containers")" ]
	assert_no_mounts
	run -127 md run --rm busybox nosuch
	[ -z "$(ls "$ROOT/containers")" ]
	assert_no_mounts
	run -127 md run --name failed busybox nosuch
	[ "$status" -eq 127 ]
	assert_no_mounts
	run md ps -a
	[[ "$output" == *"Exited (127)"* ]]
	md rm failed
	# No process is left whose root is in the store.
	! (for p in /proc/[0-9]*; do readlink "$p/root"; done 2>/dev/null | grep -q "$TEST_TMP")
}

@test "run: ps -a lists exited containers; rm by name and id prefix" {
	md run --name c1 busybox true
	run md run --name c2 busybox false
	[ "$status" -eq 1 ]
	run md ps -a
	[[ "$output" == *c1* ]] && [[ "$output" == *c2* ]]
	[[ "$output" == *"Exited (1)"* ]]
	run md ps
	[ "${#lines[@]}" -eq 1 ]
	run md run --name c1 busybox true
	[ "$status" -eq 125 ]
	[[ "$output" == *"already in use"* ]]
	id=$(md inspect -f '{{.Id}}' c2)
	md rm c1 "${id:0:8}"
	[ -z "$(md ps -aq)" ]
	run md rm c1
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such container: c1"* ]]
}

@test "run: rmi refuses an image a container uses unless -f" {
	md run --name user1 busybox true
	run md rmi busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"container is using its referenced image"* ]]
	md rm user1
	md rmi busybox
}

@test "run: --init reaps zombies as PID 1" {
	run md run --rm --init busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; (sleep 0.1 &) ; sleep 0.5; ps -o stat,comm | grep -c "^Z" || true'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" != "sh "* ]]
	[ "${lines[-1]}" = 0 ]
}

@test "run: signals are forwarded to the container" {
	# Not through md(): $! must be mydocker itself, not a subshell.
	"$MYDOCKER" --root "$ROOT" run --rm busybox sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done' > "$TEST_TMP/out" &
	pid=$!
	for i in $(seq 50); do grep -q ready "$TEST_TMP/out" 2>/dev/null && break; sleep 0.1; done
	kill -TERM $pid
	wait $pid || rc=$?
	[ "${rc:-0}" -eq 3 ]
	grep -q "got TERM" "$TEST_TMP/out"
}

@test "run -it: a real terminal session (tmux), window size follows" {
	command -v tmux >/dev/null || skip "tmux not installed"
	sock=$TEST_TMP/tmux.sock
	tmux -S "$sock" new-session -d -x 100 -y 30 "$MYDOCKER --root $ROOT run --rm -it busybox sh"
	for i in $(seq 50); do tmux -S "$sock" capture-pane -p | grep -q '#' && break; sleep 0.1; done
	tmux -S "$sock" send-keys 'echo $((6*7)); stty size; tty' Enter
	for i in $(seq 50); do tmux -S "$sock" capture-pane -p | grep -q '^42' && break; sleep 0.1; done
	screen=$(tmux -S "$sock" capture-pane -p)
	tmux -S "$sock" resize-window -x 120 -y 40 2>/dev/null || true
	tmux -S "$sock" send-keys 'stty size; exit' Enter
	for i in $(seq 50); do tmux -S "$sock" has-session 2>/dev/null || break; sleep 0.1; done
	tmux -S "$sock" kill-server 2>/dev/null || true
	echo "$screen" | grep -q '^42'
	echo "$screen" | grep -q '^30 100'
	echo "$screen" | grep -q '^/dev/pts/0'
	assert_no_mounts
}

# `container run` is `run` under another name: the same re-exec from a
# sealed memfd before entering the container (CVE-2019-5736), which the
# family dispatch once skipped.
@test "container run: executes from a sealed memfd, as run does" {
	# Not through md(): $! must be mydocker itself, not a subshell.
	"$MYDOCKER" --root "$ROOT" container run --rm --network none busybox sleep 2 &
	local pid=$! exe= i
	for i in $(seq 50); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || break
		[[ "$exe" == /memfd:* ]] && break
		sleep 0.05
	done
	wait "$pid" || true
	echo "exe: $exe"
	[ "$exe" = "/memfd:mydocker (deleted)" ]
}

@test "container/image/volume/network: unknown sub-command is one line, exit 125" {
	for f in container image volume network; do
		run md "$f" frobnicate
		[ "$status" -eq 125 ]
		[ "${#lines[@]}" -eq 1 ] || { echo "$f: $output"; return 1; }
		[[ "$output" == *"$f: unknown command \"frobnicate\""* ]]
		run md "$f"
		[ "$status" -eq 125 ]
		[[ "$output" == *Usage* ]]
	done
}
