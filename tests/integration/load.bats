#!/usr/bin/env bats
# load: docker-archive and OCI archives/layouts made by real tools (umoci,
# skopeo), with whiteouts and opaque dirs; hostile archives are rejected
# before anything lands in the store.

load helpers

setup() {
	setup_store
	command -v umoci >/dev/null && command -v skopeo >/dev/null || skip "needs umoci and skopeo"
	W=$TEST_TMP/work
	mkdir -p "$W"
}

teardown() {
	teardown_store
}

store_snapshot() {
	find "$ROOT/layers" "$ROOT/blobs" "$ROOT/images" 2>/dev/null | sort
	cat "$ROOT/images/refs.json" 2>/dev/null || true
}

n_layers() {
	find "$ROOT/layers" -mindepth 1 -maxdepth 1 -type d | wc -l
}

# A three-layer OCI layout at $W/oci:t, built with umoci:
#   1: bin/busybox, etc/keep, etc/deleted, data/old/a
#   2: etc/deleted removed (repack)  -> etc/.wh.deleted
#   3: data/old replaced, opaque     -> data/old/.wh..wh..opq + data/old/new
# umoci repack never writes opaque markers (it whites out each old file)
# and umoci 0.4.7's `insert --opaque` emits a tar without its end blocks,
# so layer 3 is a tar made by GNU tar and added with `umoci raw add-layer`.
build_oci() {
	(
		set -e
		cd "$W"
		umoci init --layout oci
		umoci new --image oci:t
		umoci unpack --image oci:t bundle >/dev/null
		r=bundle/rootfs
		mkdir -p $r/bin $r/etc $r/data/old
		cp /bin/busybox $r/bin/busybox
		echo x >$r/etc/deleted
		echo keep >$r/etc/keep
		echo a >$r/data/old/a
		umoci repack --refresh-bundle --image oci:t bundle
		rm $r/etc/deleted
		umoci repack --refresh-bundle --image oci:t bundle
		mkdir -p opq/data/old
		: >opq/data/old/.wh..wh..opq
		echo n >opq/data/old/new
		tar -C opq --numeric-owner --owner=0 --group=0 -cf opq.tar data
		umoci raw add-layer --image oci:t opq.tar
	)
}

skopeo_to() {
	skopeo --insecure-policy copy -q oci:"$W/oci:t" "$1"
}

# Checks the three stored layers entry by entry (overlay whiteout form).
check_layers() {
	[ "$(n_layers)" -eq 3 ]
	local del opq
	# Base layer: the files as created.
	[ -x "$ROOT"/layers/*/diff/bin/busybox ]
	grep -qx keep "$ROOT"/layers/*/diff/etc/keep
	grep -qx a "$ROOT"/layers/*/diff/data/old/a
	# Layer 2: the deleted file is a 0:0 character device.
	del=$(find "$ROOT"/layers/*/diff/etc -name deleted -type c)
	[ -n "$del" ]
	[ "$(stat -c '%t:%T %u:%g' "$del")" = "0:0 0:0" ]
	! find "$ROOT"/layers -name '.wh.*' | grep -q .
	# Layer 3: data/old is opaque and holds only the new file.
	opq=$(dirname "$(find "$ROOT"/layers/*/diff/data/old -name new)")
	[ "$(getfattr --only-values -n trusted.overlay.opaque "$opq")" = y ]
	[ "$(ls -A "$opq")" = new ]
}

@test "load-docker-archive-whiteouts-and-opaque-dirs" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":loadtest:v1
	run md load -i "$W/da.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: loadtest:v1" ]
	check_layers
	md images | grep -E '^loadtest +v1 '
}

@test "load-oci-archive-full-ref-name" {
	build_oci
	skopeo_to oci-archive:"$W/oa.tar":docker.io/library/ocitest:v2
	run md load -i "$W/oa.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: ocitest:v2" ]
	check_layers
}

@test "load-oci-layout-dir-bare-tag-is-untagged" {
	build_oci
	run md load -i "$W/oci"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^"Loaded image ID: sha256:"[0-9a-f]{64}$ ]]
	check_layers
}

@test "load-stdin-pipe-and-compressed-archive" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":piped:1
	gzip -c "$W/da.tar" >"$W/da.tar.gz"
	run bash -c "cat '$W/da.tar.gz' | '$MYDOCKER' --root '$ROOT' load"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: piped:1" ]
	check_layers
}

@test "load-twice-and-oci-after-docker-share-layers" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":a:1
	skopeo_to oci-archive:"$W/oa.tar":docker.io/library/b:2
	md load -i "$W/da.tar"
	md load -i "$W/da.tar"
	md load -i "$W/oa.tar"
	# Same diff_ids, same chain ids: no layer is stored twice.
	[ "$(n_layers)" -eq 3 ]
	run md images
	echo "$output" | grep -E '^a +1 '
	echo "$output" | grep -E '^b +2 '
}

# Unpack da.tar into $W/x, let a python snippet edit it, repack as $W/bad.tar.
tamper() {
	rm -rf "$W/x" && mkdir "$W/x"
	tar -C "$W/x" -xf "$W/da.tar"
	(cd "$W/x" && python3 -c "$1")
	tar -C "$W/x" -cf "$W/bad.tar" .
}

# Load $W/bad.tar: exit 125, one line matching $1, store unchanged.
expect_rejected() {
	md images >/dev/null
	local before
	before=$(store_snapshot)
	run md load -i "$W/bad.tar"
	echo "$output"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *$1* ]]
	[ "$(store_snapshot)" = "$before" ]
	[ -z "$(ls -A "$ROOT/tmp")" ]
}

PY_MANIFEST='
import json
m = json.load(open("manifest.json"))
'

@test "load-cve-2014-9358-dotdot-layer-path-rejected" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":evil:1
	tamper "$PY_MANIFEST"'
m[0]["Layers"][1] = "../../../../etc/passwd"
json.dump(m, open("manifest.json", "w"))'
	expect_rejected "invalid layer path"
	tamper "$PY_MANIFEST"'
m[0]["Config"] = "/etc/passwd"
json.dump(m, open("manifest.json", "w"))'
	expect_rejected "invalid Config path"
}

@test "load-bad-digest-in-oci-index-rejected" {
	build_oci
	skopeo_to oci-archive:"$W/da.tar":docker.io/library/evil:1
	tamper '
import json
i = json.load(open("index.json"))
i["manifests"][0]["digest"] = "sha256:../../../../../../etc/shadow"
json.dump(i, open("index.json", "w"))'
	expect_rejected "invalid digest"
}

@test "load-oci-blob-digest-mismatch-rejected" {
	build_oci
	skopeo_to oci-archive:"$W/da.tar":docker.io/library/evil:1
	# Swap the content of the last layer blob for another valid layer.
	tamper '
import json, shutil
i = json.load(open("index.json"))
m = json.load(open("blobs/sha256/" + i["manifests"][0]["digest"][7:]))
a, b = [l["digest"][7:] for l in m["layers"][1:3]]
shutil.copy("blobs/sha256/" + b, "blobs/sha256/" + a)'
	expect_rejected "digest"
}

@test "load-layer-diff-id-mismatch-rejected" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":evil:1
	# A config that promises other content for the last layer; renamed so
	# its own digest is not what trips the check.
	tamper "$PY_MANIFEST"'
c = json.load(open(m[0]["Config"]))
c["rootfs"]["diff_ids"][-1] = "sha256:" + "0" * 64
json.dump(c, open("cfg.json", "w"))
m[0]["Config"] = "cfg.json"
json.dump(m, open("manifest.json", "w"))'
	expect_rejected "diff_id"
}

@test "load-config-digest-mismatch-rejected" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":evil:1
	tamper "$PY_MANIFEST"'
c = json.load(open(m[0]["Config"]))
c["config"] = {"Cmd": ["/bin/evil"]}
json.dump(c, open(m[0]["Config"], "w"))'
	expect_rejected "digest"
}

@test "load-not-an-archive-rejected" {
	head -c 5000 /dev/urandom >"$W/bad.tar"
	expect_rejected "load"
	tar -C /etc -cf "$W/bad.tar" hostname
	expect_rejected "no manifest.json or index.json"
}

# Rewrite $W/da.tar in place with a python snippet (like tamper, but the
# result is expected to load).
rewrite() {
	tamper "$1"
	mv "$W/bad.tar" "$W/da.tar"
}

@test "load-docker-25-blobs-layout-manifest-json" {
	build_oci
	skopeo_to oci-archive:"$W/da.tar":docker.io/library/d25:1
	# docker save 25+: manifest.json beside an OCI layout, paths into blobs/.
	rewrite '
import json
i = json.load(open("index.json"))
m = json.load(open("blobs/sha256/" + i["manifests"][0]["digest"][7:]))
b = lambda d: "blobs/sha256/" + d[7:]
json.dump([{"Config": b(m["config"]["digest"]), "RepoTags": ["d25:latest"],
            "Layers": [b(l["digest"]) for l in m["layers"]]}], open("manifest.json", "w"))'
	run md load -i "$W/da.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: d25:latest" ]
	check_layers
}

@test "load-legacy-symlinked-layer-tar-and-two-images" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":one:1
	# Layers named through the <id>/layer.tar symlinks, and a second entry
	# that shares every layer.
	rewrite '
import json, os
m = json.load(open("manifest.json"))
links = {os.path.basename(os.readlink(d + "/layer.tar")): d + "/layer.tar"
         for d in os.listdir(".") if os.path.islink(d + "/layer.tar")}
m[0]["Layers"] = [links[l] for l in m[0]["Layers"]]
m.append(dict(m[0], RepoTags=["two:2", "three:3"]))
json.dump(m, open("manifest.json", "w"))'
	run md load -i "$W/da.tar"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Loaded image: one:1" ]
	[ "${lines[1]}" = "Loaded image: two:2" ]
	[ "${lines[2]}" = "Loaded image: three:3" ]
	check_layers
}

@test "load-symlink-out-of-archive-rejected" {
	build_oci
	skopeo_to docker-archive:"$W/da.tar":evil:1
	tamper '
import json, os
m = json.load(open("manifest.json"))
os.makedirs("x")
os.symlink("../../../../etc/passwd", "x/layer.tar")
m[0]["Layers"][0] = "x/layer.tar"
json.dump(m, open("manifest.json", "w"))'
	expect_rejected "not found in archive"
}

@test "load-oci-nested-index-picks-host-platform" {
	build_oci
	skopeo_to oci-archive:"$W/da.tar":docker.io/library/nested:1
	# index.json -> nested index (arm64 decoy + linux/amd64) -> manifest.
	rewrite '
import json, hashlib
i = json.load(open("index.json"))
d = i["manifests"][0]
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(__import__("os").uname().machine)
decoy = dict(d, digest="sha256:" + "1" * 64, platform={"os": "linux", "architecture": "mips"})
real = dict(d, platform={"os": "linux", "architecture": arch})
real.pop("annotations", None); decoy.pop("annotations", None)
nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": [decoy, real]}).encode()
h = hashlib.sha256(nested).hexdigest()
open("blobs/sha256/" + h, "wb").write(nested)
i["manifests"] = [{"mediaType": "application/vnd.oci.image.index.v1+json",
                   "digest": "sha256:" + h, "size": len(nested),
                   "annotations": d["annotations"]}]
json.dump(i, open("index.json", "w"))'
	run md load -i "$W/da.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: nested:1" ]
	check_layers
}
