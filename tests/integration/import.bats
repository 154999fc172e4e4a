#!/usr/bin/env bats
# import: a flat rootfs tar (plain or compressed) becomes a one-layer image;
# the same content never makes a second layer; a crash leaves nothing.

load helpers

setup() {
	setup_store
	TAR=$BUSYBOX_TAR
	# testdata/busybox.tar is built by `make`; without it, a small rootfs
	# from the host's static busybox does as well.
	if [ ! -f "$TAR" ]; then
		mkdir -p "$TEST_TMP/rootfs/bin" "$TEST_TMP/rootfs/etc"
		cp /bin/busybox "$TEST_TMP/rootfs/bin/busybox"
		ln -s busybox "$TEST_TMP/rootfs/bin/sh"
		echo 'root:x:0:0:root:/root:/bin/sh' >"$TEST_TMP/rootfs/etc/passwd"
		TAR=$TEST_TMP/rootfs.tar
		tar -C "$TEST_TMP/rootfs" --numeric-owner --owner=0 --group=0 -cf "$TAR" .
	fi
}

teardown() {
	teardown_store
}

# Everything import and load may write, to compare before/after.
store_snapshot() {
	find "$ROOT/layers" "$ROOT/blobs" "$ROOT/images" 2>/dev/null | sort
	cat "$ROOT/images/refs.json" 2>/dev/null || true
}

n_layers() {
	find "$ROOT/layers" -mindepth 1 -maxdepth 1 -type d | wc -l
}

@test "import-flat-tar-lists-in-images" {
	run md import "$TAR" busybox:latest
	[ "$status" -eq 0 ]
	[[ "${lines[-1]}" =~ ^sha256:[0-9a-f]{64}$ ]]
	id=${lines[-1]}
	[ -f "$ROOT/blobs/sha256/${id#sha256:}" ]
	run md images
	[ "$status" -eq 0 ]
	echo "$output" | grep -E '^busybox +latest '
	[ "$(n_layers)" -eq 1 ]
	# The layer holds the rootfs as the tar had it.
	[ -x "$ROOT"/layers/*/diff/bin/busybox ]
}

@test "import-same-tar-twice-one-layer" {
	md import "$TAR" one:1
	run md import "$TAR" two:2
	[ "$status" -eq 0 ]
	[[ "$output" == *"already exists"* ]]
	[ "$(n_layers)" -eq 1 ]
	run md images
	echo "$output" | grep -E '^one +1 '
	echo "$output" | grep -E '^two +2 '
}

@test "import-compressed-gzip-xz-zstd-bzip2" {
	gzip -c "$TAR" >"$TEST_TMP/r.tar.gz"
	xz -c "$TAR" >"$TEST_TMP/r.tar.xz"
	zstd -q -c "$TAR" >"$TEST_TMP/r.tar.zst"
	bzip2 -c "$TAR" >"$TEST_TMP/r.tar.bz2"
	md import "$TAR" plain:1
	for c in gz xz zst bz2; do
		run md import "$TEST_TMP/r.tar.$c" "c-$c:1"
		[ "$status" -eq 0 ]
	done
	# The diff_id is of the uncompressed tar: one layer for all five.
	[ "$(n_layers)" -eq 1 ]
	run md images
	for c in gz xz zst bz2; do echo "$output" | grep -E "^c-$c +1 "; done
}

@test "import-from-stdin-pipe" {
	run bash -c "cat '$TAR' | '$MYDOCKER' --root '$ROOT' import - piped:1"
	[ "$status" -eq 0 ]
	md images | grep -E '^piped +1 '
}

@test "import-change-and-message-in-config" {
	run md import --change 'CMD ["/bin/sh", "-c", "echo hi"]' --change 'ENV A=1 B="x y"' \
		--change 'WORKDIR /srv' --change 'EXPOSE 80' -m "my message" "$TAR" chg:1
	[ "$status" -eq 0 ]
	cfg=$ROOT/blobs/sha256/${lines[-1]#sha256:}
	python3 - "$cfg" <<-'EOF'
		import json, sys
		c = json.load(open(sys.argv[1]))
		cc = c["config"]
		assert cc["Cmd"] == ["/bin/sh", "-c", "echo hi"], cc
		assert cc["Env"][0].startswith("PATH=/usr/local/sbin:"), cc
		assert "A=1" in cc["Env"] and "B=x y" in cc["Env"], cc
		assert cc["WorkingDir"] == "/srv" and "80/tcp" in cc["ExposedPorts"], cc
		assert c["os"] == "linux" and c["rootfs"]["type"] == "layers"
		assert len(c["rootfs"]["diff_ids"]) == 1
		assert c["history"][0]["comment"] == "my message"
		assert c["created"].endswith("Z")
	EOF
}

@test "import-invalid-change-rejected-store-unchanged" {
	md images >/dev/null
	before=$(store_snapshot)
	run md import --change 'RUN rm -rf /' "$TAR" bad:1
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid --change"* ]]
	[ "$(store_snapshot)" = "$before" ]
}

@test "import-not-a-tar-rejected-store-unchanged" {
	md images >/dev/null
	before=$(store_snapshot)
	head -c 100000 /dev/urandom >"$TEST_TMP/junk"
	run md import "$TEST_TMP/junk" junk:1
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(store_snapshot)" = "$before" ]
	[ -z "$(ls -A "$ROOT/tmp")" ]
}

@test "import-kill-9-midway-cleaned-by-next-command" {
	md images >/dev/null
	before=$(store_snapshot)
	# A large import streamed from a pipe (a tar of /usr), killed while it
	# is writing its staging dir.
	tar -C / -cf - usr 2>/dev/null | "$MYDOCKER" --root "$ROOT" import - big:1 &
	pid=$!
	for _ in $(seq 100); do
		[ -n "$(ls -A "$ROOT/tmp" 2>/dev/null)" ] && [ "$(du -sm "$ROOT/tmp" | cut -f1)" -gt 20 ] && break
		sleep 0.1
	done
	mdpid=$(pgrep -f -- "--root $ROOT import - big:1")
	[ -n "$mdpid" ]
	kill -9 "$mdpid"
	wait "$pid" || true
	[ -n "$(ls -A "$ROOT/tmp")" ] # the dead import left its staging
	run md images
	[ "$status" -eq 0 ]
	[[ "$output" != *big* ]]
	# The next command cleaned the dead owner's staging; nothing landed.
	[ -z "$(ls -A "$ROOT/tmp")" ]
	[ "$(store_snapshot)" = "$before" ]
}
