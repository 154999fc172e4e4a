#!/usr/bin/env bats
# images, tag, rmi, inspect, image prune, and the CLI's error contract.

load helpers

setup() { setup_store; }
teardown() { teardown_store; }

@test "cli: unknown flag, missing argument, unknown command -> one line, exit 125" {
	run "$MYDOCKER" --root "$ROOT" images --bogus
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unknown flag: --bogus"* ]]
	run "$MYDOCKER" --root "$ROOT" tag onlyone
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$MYDOCKER" --root "$ROOT" frobnicate
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$MYDOCKER" --nosuchglobal images
	[ "$status" -eq 125 ]
}

@test "cli: --help for every command, --version" {
	for c in run import load images rmi tag inspect image volume info version ps rm container; do
		run "$MYDOCKER" "$c" --help
		[ "$status" -eq 0 ] || { echo "$c --help failed: $output"; return 1; }
		[[ "$output" == *Usage* ]] || { echo "$c: no usage"; return 1; }
	done
	run "$MYDOCKER" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "mydocker version "* ]]
}

@test "MYDOCKER_ROOT selects the store; store dirs are private" {
	MYDOCKER_ROOT=$ROOT "$MYDOCKER" images >/dev/null
	[ -d "$ROOT/layers" ]
	[ "$(stat -c %a "$ROOT")" = 700 ]
	[ "$(stat -c %a "$ROOT/containers")" = 700 ]
}

@test "images lists an imported image; -q; filter by repository" {
	load_busybox
	run md images
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == REPOSITORY* ]]
	[[ "${lines[1]}" == busybox*latest* ]]
	run md images -q
	[ "${#lines[@]}" -eq 1 ]
	[[ "${lines[0]}" =~ ^[0-9a-f]{12}$ ]]
	run md images busybox
	[ "${#lines[@]}" -eq 2 ]
	run md images nosuch
	[ "${#lines[@]}" -eq 1 ]
}

@test "tag adds a name; rmi of one name untags only" {
	load_busybox
	md tag busybox mybox:v1
	run md images -q
	[ "${#lines[@]}" -eq 1 ]
	run md images
	[ "${#lines[@]}" -eq 3 ]
	run md rmi mybox:v1
	[ "$status" -eq 0 ]
	[[ "$output" == "Untagged: mybox:v1" ]]
	run md images -q
	[ "${#lines[@]}" -eq 1 ]
}

@test "rmi of the last name deletes the image and its layers" {
	load_busybox
	[ "$(ls "$ROOT/layers" | wc -l)" -eq 1 ]
	run md rmi busybox
	[ "$status" -eq 0 ]
	[[ "$output" == *"Untagged: busybox:latest"* ]]
	[[ "$output" == *"Deleted: sha256:"* ]]
	[ "$(ls "$ROOT/layers" | wc -l)" -eq 0 ]
	[ "$(ls "$ROOT/images" | grep -vc refs.json)" -eq 0 ]
	run md rmi busybox
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such image"* ]]
}

@test "rmi by id with several names needs -f" {
	load_busybox
	md tag busybox other:1
	id=$(md images -q)
	run md rmi "$id"
	[ "$status" -ne 0 ]
	[[ "$output" == *"must be forced"* ]]
	run md rmi -f "$id"
	[ "$status" -eq 0 ]
	[ -z "$(md images -q)" ]
}

@test "inspect image: JSON with Id, RepoTags, RootFS, GraphDriver; -f template" {
	load_busybox
	run md inspect busybox
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json,sys
d=json.load(sys.stdin)[0]
assert d["Id"].startswith("sha256:"), d
assert d["RepoTags"]==["busybox:latest"], d["RepoTags"]
assert d["RootFS"]["Type"]=="layers" and len(d["RootFS"]["Layers"])==1
assert d["Os"]=="linux" and d["Size"]>0
assert d["GraphDriver"]["Name"] in ("overlay","aufs","vfs")
'
	run md inspect -f '{{.Id}}' busybox
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	# The image ID is the config digest.
	id=${output#sha256:}
	[ "$(sha256sum < "$ROOT/blobs/sha256/$id" | cut -d' ' -f1)" = "$id" ]
	run md inspect nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"No such object: nosuch"* ]]
}

@test "image prune removes dangling images only; -a removes unused" {
	load_busybox
	md tag busybox keep:1
	# Retagging busybox:latest onto another image leaves nothing dangling here,
	# so make a dangling image: import with a tag, then move the tag.
	md import --change 'CMD ["sh"]' "$BUSYBOX_TAR" dangling:1 >/dev/null
	md import --change 'CMD ["true"]' "$BUSYBOX_TAR" dangling:1 >/dev/null
	[ "$(md images -q | wc -l)" -eq 3 ]
	run md image prune -f
	[ "$status" -eq 0 ]
	[[ "$output" == *"deleted: sha256:"* ]]
	[ "$(md images -q | wc -l)" -eq 2 ]
	run md image prune -a -f
	[ "$(md images -q | wc -l)" -eq 0 ]
	# Layers shared by all three went away with the last user.
	[ "$(ls "$ROOT/layers" | wc -l)" -eq 0 ]
}

@test "info states the storage driver" {
	run md info
	[ "$status" -eq 0 ]
	[[ "$output" == *"Storage Driver: overlay"* ]]
	run "$MYDOCKER" --root "$TEST_TMP/vfsroot" --storage-driver vfs info
	[[ "$output" == *"Storage Driver: vfs"* ]]
	run "$MYDOCKER" --root "$TEST_TMP/vfsroot" --storage-driver overlay info
	[ "$status" -eq 125 ]
	run "$MYDOCKER" --root "$TEST_TMP/x" --storage-driver zfs info
	[ "$status" -eq 125 ]
}

@test "parallel imports of the same and of different images leave a consistent store" {
	pids=()
	for i in 1 2 3 4; do
		md import "$BUSYBOX_TAR" same:$i >/dev/null & pids+=($!)
		md import --change "ENV N=$i" "$BUSYBOX_TAR" diff:$i >/dev/null & pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	# One layer on disk; all 8 names present (each import has its own
	# "created" time, so as with docker the image IDs may differ).
	[ "$(ls "$ROOT/layers" | wc -l)" -eq 1 ]
	[ "$(md images | grep -c '^same ')" -eq 4 ]
	[ "$(md images | grep -c '^diff ')" -eq 4 ]
	[ -z "$(ls "$ROOT/tmp")" ]
	# Every record is valid JSON and names an existing config blob.
	for f in "$ROOT"/images/*.json; do
		python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f"
	done
	for id in $(md images -q --no-trunc); do
		[ -f "$ROOT/blobs/sha256/${id#sha256:}" ]
	done
}
