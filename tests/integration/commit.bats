#!/usr/bin/env bats
# commit, diff, export: a container's changes become one layer that shows
# exactly those changes; the same upper twice is one layer.

load helpers

CHANGES='echo new >/new; echo mod >>/etc/passwd; rm /bin/ls; rm -rf /home; mkdir /home; echo x >/home/f; ln /new /newhard; ln -s /new /newsym'

setup() {
	setup_store
	load_busybox
	md run --name c1 busybox sh -c "$CHANGES" >/dev/null
}

teardown() {
	teardown_store
}

@test "commit-new-image-shows-exactly-the-changes" {
	run md commit -m "my change" -a "tester" c1 snap:v1
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^sha256:[0-9a-f]{64}$ ]]
	run md run --rm snap:v1 sh -c 'cat /new; tail -n1 /etc/passwd; ls /home; test ! -e /bin/ls && echo nols; readlink /newsym; stat -c %i /new /newhard | uniq | wc -l; test -d /home/user || echo nouser'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = new ]
	[ "${lines[1]}" = mod ]
	[ "${lines[2]}" = f ]
	[ "${lines[3]}" = nols ]
	[ "${lines[4]}" = /new ]
	[ "${lines[5]}" = 1 ]
	[ "${lines[6]}" = nouser ]
}

@test "diff-lists-added-changed-deleted" {
	run md diff c1
	[ "$status" -eq 0 ]
	expected='C /bin
D /bin/ls
C /etc
C /etc/passwd
C /home
A /home/f
A /new
A /newhard
A /newsym'
	[ "$output" = "$expected" ]
}

@test "commit-same-upper-twice-one-layer" {
	md commit c1 a:1 >/dev/null
	n=$(find "$ROOT/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)
	md commit c1 b:1 >/dev/null
	[ "$(find "$ROOT/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)" -eq "$n" ]
}

@test "commit-change-and-history" {
	md commit -m hello -c 'CMD ["cat","/new"]' c1 snap:v2 >/dev/null
	run md run --rm snap:v2
	[ "$output" = new ]
	run md history snap:v2
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" == *"sh -c echo new"*hello ]]
	[[ "${lines[2]}" == "<missing>"*"mydocker import"* ]]
	run md commit -c 'BOGUS x' c1 snap:v3
	[ "$status" -eq 125 ]
}

@test "commit-o-writes-docker-archive" {
	run md commit -o "$TEST_TMP/c.tar" c1 snap:v4
	[ "$status" -eq 0 ]
	tar -tf "$TEST_TMP/c.tar" | grep -qx manifest.json
	[ ! -e "$TEST_TMP/c.tar.tmp" ]
}

@test "export-equals-merged-view" {
	md export -o "$TEST_TMP/e.tar" c1
	mkdir "$TEST_TMP/e"
	tar -xf "$TEST_TMP/e.tar" -C "$TEST_TMP/e"
	[ "$(cat "$TEST_TMP/e/new")" = new ]
	[ ! -e "$TEST_TMP/e/bin/ls" ]
	[ ! -e "$TEST_TMP/e/home/user" ]
	! tar -tf "$TEST_TMP/e.tar" | grep -q '\.wh\.'
	# The same listing as a container of the committed image sees.
	(cd "$TEST_TMP/e" && find . -xdev -not -path './proc/*' -not -path './sys/*' -not -path './dev/*' | sort) >"$TEST_TMP/a"
	md commit c1 merged:1 >/dev/null
	md run --rm merged:1 sh -c 'find / -xdev | sed "s,^/,./," ' | grep -v -e '^\./proc/' -e '^\./sys/' -e '^\./dev/' -e '^\./$' |
		sed 's,^\./\?$,.,' | sort >"$TEST_TMP/b"
	grep -v -e '^\./etc/hostname$' -e '^\./etc/hosts$' -e '^\./etc/resolv.conf$' "$TEST_TMP/a" >"$TEST_TMP/a2"
	grep -v -e '^\./etc/hostname$' -e '^\./etc/hosts$' -e '^\./etc/resolv.conf$' -e '^\.$' "$TEST_TMP/b" >"$TEST_TMP/b2"
	grep -v '^\.$' "$TEST_TMP/a2" >"$TEST_TMP/a3"
	diff "$TEST_TMP/a3" "$TEST_TMP/b2"
	assert_no_mounts
}

@test "save-refuses-terminal-and-unknown-format" {
	run md save --format nope busybox
	[ "$status" -eq 125 ]
	run md save --compress lz4 -o "$TEST_TMP/x.tar" busybox
	[ "$status" -eq 125 ]
	[ ! -e "$TEST_TMP/x.tar" ] && [ ! -e "$TEST_TMP/x.tar.tmp" ]
}

@test "commit of a running container pauses it (freezer) and leaves it running" {
	md run -d --name live --network none busybox sh -c 'echo state > /f; sleep 1000' >/dev/null
	for i in $(seq 50); do md exec live test -f /f 2>/dev/null && break; sleep 0.1; done
	run md commit live live:snap
	[ "$status" -eq 0 ]
	run md inspect -f '{{.State.Status}}' live
	[ "$output" = running ]
	# Not left frozen: the container still answers.
	run md exec live echo alive
	[ "$output" = alive ]
	run md run --rm --network none live:snap cat /f
	[ "$output" = state ]
	md rm -f live >/dev/null
}
