#!/usr/bin/env bats
# save: docker-archive and OCI archives that mydocker, podman, skopeo and
# umoci load with the same content and ids.

load helpers

setup() {
	setup_store
	load_busybox
	md run --name c1 busybox sh -c 'echo new >/new; rm /bin/ls' >/dev/null
	md commit c1 snap:v1 >/dev/null
}

teardown() {
	teardown_store
}

need() {
	command -v "$1" >/dev/null || skip "$1 not installed (make deps installs it)"
}

# A second store loaded from a save of the first: its layers were written
# by mydocker, so they reproduce byte for byte when saved again.
fresh_store() {
	"$MYDOCKER" --root "$TEST_TMP/$1" "${@:2}"
}

@test "save-shares-layers-once" {
	md save -o "$TEST_TMP/s.tar" snap:v1 busybox:latest 2>/dev/null
	[ ! -e "$TEST_TMP/s.tar.tmp" ]
	n=$(tar -tf "$TEST_TMP/s.tar" | grep -c '^blobs/sha256/.')
	# 2 layers + 2 configs + 2 manifests.
	[ "$n" -eq 6 ]
	tar -xOf "$TEST_TMP/s.tar" manifest.json | grep -q '"RepoTags":\["snap:v1"\]'
	tar -tf "$TEST_TMP/s.tar" | grep -qx oci-layout
	tar -tf "$TEST_TMP/s.tar" | grep -qx repositories
}

# The layer came from GNU tar, not from mydocker: its tar-split gives back
# the original bytes, so import -> save -> load keeps the image ID (issue 7).
@test "save-imported-layer-keeps-image-id" {
	id0=$(md images -q --no-trunc busybox)
	for comp in none gzip; do
		run md save --compress $comp -o "$TEST_TMP/s.tar" busybox
		[ "$status" -eq 0 ]
		[[ "$output" != *"original tar was not kept"* ]]
		rm -rf "$TEST_TMP/s1"
		fresh_store s1 load -i "$TEST_TMP/s.tar" >/dev/null
		[ "$(fresh_store s1 images -q --no-trunc busybox)" = "$id0" ]
	done
	# Uncompressed, the layer blob is the imported tar itself.
	md save --compress none -o "$TEST_TMP/n.tar" busybox
	mkdir "$TEST_TMP/n" && tar -xf "$TEST_TMP/n.tar" -C "$TEST_TMP/n"
	cmp "$TEST_TMP/n/blobs/sha256/$(sha256sum "$BUSYBOX_TAR" | cut -c1-64)" "$BUSYBOX_TAR"
}

# A layer stored without its tar-split (older store) is regenerated: the
# saved image gets a new ID, and the user is told.
@test "save-layer-without-tar-split-warns-new-id" {
	rm "$ROOT"/layers/*/tar-split.zst
	id0=$(md images -q --no-trunc busybox)
	run md save -o "$TEST_TMP/s.tar" busybox
	[ "$status" -eq 0 ]
	[[ "$output" == *"original tar was not kept"* ]]
	fresh_store s1 load -i "$TEST_TMP/s.tar" >/dev/null
	id1=$(fresh_store s1 images -q --no-trunc busybox)
	[ -n "$id1" ] && [ "$id1" != "$id0" ]
}

# Files of a stored layer changed behind mydocker's back: no silent new tar.
@test "save-modified-layer-fails" {
	busybox_layer=$(ls -d "$ROOT"/layers/*/diff | while read -r d; do
		[ -e "$d/bin/busybox" ] && echo "$d"; done | head -n1)
	echo tampered >>"$busybox_layer/etc/passwd"
	run md save -o "$TEST_TMP/s.tar" busybox
	[ "$status" -eq 125 ]
	[[ "$output" == *"etc/passwd changed since the layer was stored"* ]]
}

@test "save-load-fresh-store-same-image-id" {
	for comp in gzip zstd none; do
		md save --compress $comp -o "$TEST_TMP/a.tar" snap:v1 2>/dev/null
		rm -rf "$TEST_TMP/s1" "$TEST_TMP/s2"
		fresh_store s1 load -i "$TEST_TMP/a.tar" >/dev/null
		id1=$(fresh_store s1 images -q --no-trunc snap:v1)
		fresh_store s1 save --compress $comp -o "$TEST_TMP/b.tar" snap:v1
		fresh_store s2 load -i "$TEST_TMP/b.tar" >/dev/null
		id2=$(fresh_store s2 images -q --no-trunc snap:v1)
		[ -n "$id1" ] && [ "$id1" = "$id2" ]
		# Byte-identical archives: the layers are reproducible.
		fresh_store s2 save --compress $comp -o "$TEST_TMP/c.tar" snap:v1
		cmp "$TEST_TMP/b.tar" "$TEST_TMP/c.tar"
		run fresh_store s2 run --rm snap:v1 sh -c 'cat /new; test -e /bin/ls || echo gone'
		[ "${lines[0]}" = new ] && [ "${lines[1]}" = gone ]
	done
}

@test "save-oci-archive-loads-back" {
	md save --format oci-archive -o "$TEST_TMP/o.tar" snap:v1 2>/dev/null
	! tar -tf "$TEST_TMP/o.tar" | grep -qx manifest.json
	fresh_store s1 load -i "$TEST_TMP/o.tar"
	run fresh_store s1 run --rm snap:v1 cat /new
	[ "$output" = new ]
}

@test "save-accepted-by-skopeo" {
	need skopeo
	md save -o "$TEST_TMP/s.tar" snap:v1 2>/dev/null
	run skopeo inspect "docker-archive:$TEST_TMP/s.tar"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"Os": "linux"'* ]]
	md save --format oci-archive -o "$TEST_TMP/o.tar" snap:v1 2>/dev/null
	skopeo inspect "oci-archive:$TEST_TMP/o.tar:snap:v1"
}

@test "save-accepted-by-podman-load" {
	need podman
	md save -o "$TEST_TMP/s.tar" snap:v1 2>/dev/null
	id=$(tar -xOf "$TEST_TMP/s.tar" manifest.json | sed 's,.*"Config":"blobs/sha256/\([0-9a-f]*\)".*,\1,')
	p="podman --root $TEST_TMP/pod/root --runroot $TEST_TMP/pod/run --storage-driver vfs"
	run $p load -i "$TEST_TMP/s.tar"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *"Loaded image"*"snap:v1"* ]]
	run $p images --no-trunc --format '{{.ID}}'
	[[ "$output" == *"$id"* ]]
}

@test "save-oci-archive-unpacks-with-umoci" {
	need umoci
	md save --format oci-archive -o "$TEST_TMP/o.tar" snap:v1 2>/dev/null
	mkdir "$TEST_TMP/oci"
	tar -xf "$TEST_TMP/o.tar" -C "$TEST_TMP/oci"
	umoci unpack --image "$TEST_TMP/oci:snap:v1" "$TEST_TMP/bundle"
	r=$TEST_TMP/bundle/rootfs
	[ "$(cat "$r/new")" = new ]
	[ ! -e "$r/bin/ls" ]
	[ -x "$r/bin/busybox" ]
	# The same files as the image's export.
	md run --name c2 snap:v1 true
	md export -o "$TEST_TMP/e.tar" c2
	(cd "$r" && find . | grep -v -e '^\.$' -e '^\./etc/hostname$' -e '^\./etc/hosts$' -e '^\./etc/resolv.conf$' | sort) >"$TEST_TMP/u"
	tar -tf "$TEST_TMP/e.tar" | sed -e 's,/$,,' -e 's,^,./,' | grep -v -e '^\./etc/hostname$' -e '^\./etc/hosts$' -e '^\./etc/resolv.conf$' | sort >"$TEST_TMP/x"
	diff "$TEST_TMP/u" "$TEST_TMP/x"
}
