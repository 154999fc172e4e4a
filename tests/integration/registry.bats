#!/usr/bin/env bats
# pull and push against a real registry (Debian's docker-registry) that each
# test starts on 127.0.0.1 with a random port and a private storage dir.
# Needs: docker-registry, skopeo, umoci, apache2-utils (htpasswd), python3.

load helpers

REGISTRY_BIN=/usr/bin/docker-registry

setup() {
	setup_store
	for t in "$REGISTRY_BIN" skopeo umoci htpasswd python3 curl; do
		command -v "$t" >/dev/null || skip "$t not installed"
	done
	export MYDOCKER_CONFIG=$TEST_TMP/auth.json
	REG_PIDS=()
}

teardown() {
	local p
	for p in "${REG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	teardown_store
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	local i
	for i in $(seq 1 100); do
		curl -s -o /dev/null "http://127.0.0.1:$1/v2/" && return 0
		sleep 0.05
	done
	echo "nothing answers on port $1" >&2
	return 1
}

# start_registry [HTPASSWD_FILE]: sets REG (host:port), REG_PORT, REG_DATA.
# A second call with REG_PORT set restarts on the same port and storage.
start_registry() {
	: "${REG_PORT:=$(free_port)}"
	REG=127.0.0.1:$REG_PORT
	REG_DATA=$TEST_TMP/registry
	mkdir -p "$REG_DATA"
	cat >"$TEST_TMP/registry.yml" <<-EOF
	version: 0.1
	log:
	  level: error
	  accesslog:
	    disabled: true
	storage:
	  filesystem:
	    rootdirectory: $REG_DATA
	  delete:
	    enabled: true
	http:
	  addr: 127.0.0.1:$REG_PORT
	EOF
	if [ -n "${1:-}" ]; then
		printf 'auth:\n  htpasswd:\n    realm: mydocker-test\n    path: %s\n' "$1" \
			>>"$TEST_TMP/registry.yml"
	fi
	"$REGISTRY_BIN" serve "$TEST_TMP/registry.yml" >>"$TEST_TMP/registry.log" 2>&1 3>&- &
	REG_PID=$!
	REG_PIDS+=("$REG_PID")
	wait_port "$REG_PORT"
}

stop_registry() {
	kill -9 "$REG_PID" 2>/dev/null || true
	wait "$REG_PID" 2>/dev/null || true
}

# The config digest (image ID) the registry holds for REPO:TAG.
registry_image_id() {
	curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$REG/v2/$1/manifests/$2" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])'
}

# A fresh store root under TEST_TMP.
other_root() {
	echo "$TEST_TMP/$1"
}

# What a store holds: refs, image records, layers, staging; for "unchanged" checks.
store_state() {
	(cd "$1" && { find images layers blobs -maxdepth 2 2>/dev/null || true; } | sort && cat images/refs.json 2>/dev/null) || true
}

# An OCI layout made by umoci: busybox plus a file, in DIR:TAG (arch ARCH).
umoci_image() {
	local dir=$1 tag=$2 arch=${3:-amd64} bundle=$TEST_TMP/bundle.$2
	[ -d "$dir" ] || umoci init --layout "$dir"
	umoci new --image "$dir:$tag"
	umoci unpack --image "$dir:$tag" "$bundle" >/dev/null
	tar -xf "$BUSYBOX_TAR" -C "$bundle/rootfs"
	echo "hello from $arch" >"$bundle/rootfs/hello.txt"
	umoci repack --image "$dir:$tag" "$bundle"
	rm -rf "$bundle"
	umoci config --image "$dir:$tag" --architecture "$arch" --config.cmd sh
}

@test "registry: push an image made by mydocker, pull it into a fresh store: same image ID" {
	start_registry
	load_busybox
	id0=$(md images -q --no-trunc busybox:latest)
	md tag busybox:latest "$REG/mydocker/busybox:v1"
	run md push "$REG/mydocker/busybox:v1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"The push refers to repository [$REG/mydocker/busybox]"* ]]
	[[ "$output" =~ v1:\ digest:\ sha256:[0-9a-f]{64}\ size:\ [0-9]+ ]]
	# The imported layer goes out as GNU tar wrote it (its tar-split), so
	# import -> push -> pull keeps the image ID (issue 8).
	[[ "$output" != *"re-encoded"* ]]
	pushed=$(registry_image_id mydocker/busybox v1)
	[ "$pushed" = "$id0" ]

	local_root=$ROOT
	ROOT=$(other_root store2)
	run md pull "$REG/mydocker/busybox:v1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Status: Downloaded newer image for $REG/mydocker/busybox:v1"* ]]
	id2=$(md images -q --no-trunc "$REG/mydocker/busybox:v1")
	[ "$id2" = "$pushed" ]
	ls "$ROOT"/layers/*/diff/bin/busybox

	# And again from the pulled store (gzip blobs, layers unpacked anew).
	md tag "$REG/mydocker/busybox:v1" "$REG/mydocker/again:v2"
	run md push "$REG/mydocker/again:v2"
	[ "$status" -eq 0 ]
	[[ "$output" != *"re-encoded"* ]]
	ROOT=$(other_root store3)
	md pull -q "$REG/mydocker/again:v2"
	[ "$(md images -q --no-trunc "$REG/mydocker/again:v2")" = "$id2" ]

	# Pulling again changes nothing.
	run md pull "$REG/mydocker/again:v2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Already exists"* ]]
	[[ "$output" == *"Status: Image is up to date"* ]]
	ROOT=$local_root
}

@test "registry: push skips blobs the registry has, by HEAD" {
	start_registry
	load_busybox
	md tag busybox "$REG/a/bb:1"
	md push "$REG/a/bb:1" >/dev/null
	run md push "$REG/a/bb:1"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Layer already exists"* ]]
	[[ "$output" != *"Pushed"* ]]
}

@test "registry: push --format oci writes an OCI manifest that pulls back" {
	start_registry
	load_busybox
	md tag busybox "$REG/oci/bb:1"
	md push --format oci "$REG/oci/bb:1" >/dev/null
	ct=$(curl -s -o /dev/null -w '%{content_type}' \
		-H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REG/v2/oci/bb/manifests/1")
	[ "$ct" = application/vnd.oci.image.manifest.v1+json ]
	ROOT=$(other_root s2)
	md pull -q "$REG/oci/bb:1"
	[ "$(md images -q --no-trunc "$REG/oci/bb:1")" = "$(registry_image_id oci/bb 1)" ]
}

@test "registry: pull images skopeo pushed (docker schema 2 and OCI)" {
	start_registry
	umoci_image "$TEST_TMP/oci" img
	skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$TEST_TMP/oci:img" \
		"docker://$REG/sk/v2s2:latest"
	skopeo copy -q --dest-tls-verify=false --format oci "oci:$TEST_TMP/oci:img" \
		"docker://$REG/sk/oci:latest"
	run md pull "$REG/sk/v2s2:latest"
	[ "$status" -eq 0 ]
	[ "$(md images -q --no-trunc "$REG/sk/v2s2")" = "$(registry_image_id sk/v2s2 latest)" ]
	grep -qx 'hello from amd64' "$ROOT"/layers/*/diff/hello.txt
	run md pull "$REG/sk/oci"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Using default tag: latest"* ]]
	[ "$(md images -q --no-trunc "$REG/sk/oci")" = "$(registry_image_id sk/oci latest)" ]
	# By digest too.
	dg=$(skopeo inspect --tls-verify=false "docker://$REG/sk/oci:latest" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
	ROOT=$(other_root s2)
	run md pull "$REG/sk/oci@$dg"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Digest: $dg"* ]]
	[ "$(md images -q --no-trunc)" = "$(registry_image_id sk/oci latest)" ]
}

@test "registry: multi-arch index: the platform's manifest, --platform, none for s390x" {
	start_registry
	umoci_image "$TEST_TMP/oci" amd amd64
	umoci_image "$TEST_TMP/oci" arm arm64
	# An index of both, made by hand, tagged "multi" in the layout.
	python3 - "$TEST_TMP/oci" <<-'EOF'
	import hashlib, json, os, sys
	d = sys.argv[1]
	idx = json.load(open(os.path.join(d, "index.json")))
	ents = []
	for m in idx["manifests"]:
	    arch = {"amd": "amd64", "arm": "arm64"}[m["annotations"]["org.opencontainers.image.ref.name"]]
	    ents.append({"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"],
	                 "platform": {"os": "linux", "architecture": arch}})
	blob = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
	                   "manifests": ents}).encode()
	dg = hashlib.sha256(blob).hexdigest()
	open(os.path.join(d, "blobs", "sha256", dg), "wb").write(blob)
	idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
	                         "digest": "sha256:" + dg, "size": len(blob),
	                         "annotations": {"org.opencontainers.image.ref.name": "multi"}})
	json.dump(idx, open(os.path.join(d, "index.json"), "w"))
	EOF
	skopeo copy -q --all --dest-tls-verify=false "oci:$TEST_TMP/oci:multi" "docker://$REG/multi/bb:latest"

	run md pull "$REG/multi/bb:latest"
	[ "$status" -eq 0 ]
	grep -qx 'hello from amd64' "$ROOT"/layers/*/diff/hello.txt
	ROOT=$(other_root arm)
	run md pull --platform linux/arm64 "$REG/multi/bb:latest"
	[ "$status" -eq 0 ]
	grep -qx 'hello from arm64' "$ROOT"/layers/*/diff/hello.txt
	ROOT=$(other_root none)
	run md pull --platform linux/s390x "$REG/multi/bb:latest"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no matching manifest for linux/s390x"* ]]
	[ -z "$(md images -q)" ]
	# A single-platform image for another platform only: refused too.
	skopeo copy -q --dest-tls-verify=false "oci:$TEST_TMP/oci:arm" "docker://$REG/arm/only:latest"
	run md pull "$REG/arm/only:latest"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"linux/arm64"* ]]
	[ -z "$(md images -q)" ]
}

# A config may leave out os or architecture: the platform check must still
# name what it has in one line (it printed a NULL architecture).
@test "registry: config-without-architecture for another os: refused in one line" {
	start_registry
	python3 - "$REG" <<-'EOF'
	import gzip, hashlib, io, json, sys, tarfile, urllib.request
	reg = sys.argv[1]
	def put_blob(data):
	    dg = "sha256:" + hashlib.sha256(data).hexdigest()
	    rq = urllib.request.Request("http://%s/v2/noarch/img/blobs/uploads/" % reg, method="POST")
	    loc = urllib.request.urlopen(rq).headers["Location"]
	    if loc.startswith("/"):
	        loc = "http://" + reg + loc
	    loc += ("&" if "?" in loc else "?") + "digest=" + dg
	    urllib.request.urlopen(urllib.request.Request(loc, data=data, method="PUT",
	                           headers={"Content-Type": "application/octet-stream"}))
	    return {"digest": dg, "size": len(data)}
	tar = io.BytesIO()
	tarfile.open(fileobj=tar, mode="w").close()
	layer = gzip.compress(tar.getvalue(), mtime=0)
	cfg = json.dumps({"os": "windows", "rootfs": {"type": "layers",
	                  "diff_ids": ["sha256:" + hashlib.sha256(tar.getvalue()).hexdigest()]}}).encode()
	mt = "application/vnd.docker.distribution.manifest.v2+json"
	man = {"schemaVersion": 2, "mediaType": mt,
	       "config": dict(put_blob(cfg), mediaType="application/vnd.docker.container.image.v1+json"),
	       "layers": [dict(put_blob(layer), mediaType="application/vnd.docker.image.rootfs.diff.tar.gzip")]}
	rq = urllib.request.Request("http://%s/v2/noarch/img/manifests/1" % reg,
	                            data=json.dumps(man).encode(), method="PUT",
	                            headers={"Content-Type": mt})
	urllib.request.urlopen(rq)
	EOF
	run md pull "$REG/noarch/img:1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"is for windows/?, not for the platform linux/"* ]]
	[ -z "$(md images -q)" ]
}

@test "registry: basic auth: 401 without login, login stores 0600 credentials, logout" {
	htpasswd -Bbc "$TEST_TMP/htpasswd" alice 's3cret' 2>/dev/null
	start_registry "$TEST_TMP/htpasswd"
	load_busybox
	md tag busybox "$REG/priv/bb:1"
	run md push "$REG/priv/bb:1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 2 ] # "The push refers to..." and the error
	[[ "${lines[1]}" == *"unauthorized"* ]]
	run md login -u alice -p wrong "$REG"
	[ "$status" -eq 125 ]
	[[ "$output" == *"incorrect username or password"* ]]
	[ ! -e "$MYDOCKER_CONFIG" ]
	run bash -c "echo s3cret | '$MYDOCKER' login -u alice --password-stdin $REG"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Login Succeeded"* ]]
	[ "$(stat -c %a "$MYDOCKER_CONFIG")" = 600 ]
	! grep -q s3cret "$MYDOCKER_CONFIG"
	md push "$REG/priv/bb:1" >/dev/null
	ROOT=$(other_root s2)
	md pull -q "$REG/priv/bb:1"
	run md logout "$REG"
	[ "$output" = "Removing login credentials for $REG" ]
	ROOT=$(other_root s3)
	run md pull "$REG/priv/bb:1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"unauthorized: authentication required"* ]]
	[ -z "$(md images -q)" ]
}

@test "registry: 404 unknown tag, unknown repository, unknown host: one line, exit 125" {
	start_registry
	load_busybox
	before=$(store_state "$ROOT")
	run md pull "$REG/nosuch/repo:latest"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"not found: manifest unknown"* ]]
	md tag busybox "$REG/x/bb:1"
	md push -q "$REG/x/bb:1" >/dev/null
	run md pull "$REG/x/bb:nosuchtag"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"manifest for $REG/x/bb:nosuchtag not found"* ]]
	run md pull nosuch.invalid/x/bb:1
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no such host"* ]]
	run md push nosuch.invalid/x/bb:1
	[ "$status" -eq 125 ]
	run md pull "127.0.0.1:$(free_port)/x/bb:1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"cannot connect"* ]]
	md rmi "$REG/x/bb:1" >/dev/null
	[ "$(store_state "$ROOT")" = "$before" ]
}

@test "registry: a corrupted blob in the registry's storage is detected; store unchanged" {
	start_registry
	load_busybox
	md tag busybox "$REG/c/bb:1"
	md push -q "$REG/c/bb:1" >/dev/null
	md tag busybox "$REG/c/bb2:1"
	md push -q "$REG/c/bb2:1" >/dev/null
	layer=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
		"http://$REG/v2/c/bb/manifests/1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
	data=$REG_DATA/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
	[ -f "$data" ]
	size=$(stat -c %s "$data")
	ROOT=$(other_root s2)
	md images >/dev/null
	before=$(store_state "$ROOT")

	# The gzip trailer's last byte: the tar unpacks fine, the digest does not match.
	printf '\377' | dd of="$data" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
	run md pull -q "$REG/c/bb:1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"sha256:$layer"*"digest mismatch"* ]]
	[ "$(store_state "$ROOT")" = "$before" ]
	[ -z "$(ls -A "$ROOT/tmp")" ]

	# Garbage in the middle of the deflate stream.
	head -c 4096 /dev/urandom | dd of="$data" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	run md pull -q "$REG/c/bb2:1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"sha256:$layer"* ]]
	[ "$(store_state "$ROOT")" = "$before" ]
	[ -z "$(ls -A "$ROOT/tmp")" ]
}

@test "registry: killed midway through a large layer: store consistent, a rerun succeeds" {
	start_registry
	# busybox and 48 MiB of noise (incompressible: the transfer is long).
	mkdir -p "$TEST_TMP/big"
	head -c $((48 << 20)) /dev/urandom >"$TEST_TMP/big/noise"
	tar -C "$TEST_TMP/big" -cf "$TEST_TMP/big.tar" noise
	mk_two_layer_oci
	skopeo copy -q --dest-tls-verify=false "oci:$TEST_TMP/oci2:img" "docker://$REG/big/img:1"
	# A throttling proxy (8 MiB/s) in front of the registry, so the
	# registry dies while the layer streams.
	proxy_port=$(free_port)
	python3 - "$proxy_port" "$REG_PORT" >"$TEST_TMP/proxy.log" 2>&1 3>&- <<-'EOF' &
	import socket, sys, threading, time
	lport, rport = int(sys.argv[1]), int(sys.argv[2])
	ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind(("127.0.0.1", lport)); ls.listen(16)
	def pipe(a, b, slow):
	    try:
	        while True:
	            d = a.recv(65536)
	            if not d: break
	            b.sendall(d)
	            if slow: time.sleep(len(d) / (8 << 20))
	    except OSError: pass
	    for s in (a, b):
	        try: s.shutdown(socket.SHUT_RDWR)
	        except OSError: pass
	while True:
	    c, _ = ls.accept()
	    try: u = socket.create_connection(("127.0.0.1", rport))
	    except OSError: c.close(); continue
	    threading.Thread(target=pipe, args=(c, u, False), daemon=True).start()
	    threading.Thread(target=pipe, args=(u, c, True), daemon=True).start()
	EOF
	REG_PIDS+=("$!")
	wait_port "$proxy_port"
	via=127.0.0.1:$proxy_port
	ROOT=$(other_root s2)
	md images >/dev/null
	before=$(store_state "$ROOT")

	md pull -q "$via/big/img:1" >"$TEST_TMP/pull.out" 2>&1 &
	pull_pid=$!
	# Kill the registry once the big layer is part-way into staging.
	for _ in $(seq 1 200); do
		n=$(du -sb "$ROOT"/tmp/*/l* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
		[ "$n" -gt $((8 << 20)) ] && break
		sleep 0.05
	done
	stop_registry
	rc=0
	wait "$pull_pid" || rc=$?
	[ "$rc" -eq 125 ]
	grep -q "download failed" "$TEST_TMP/pull.out"
	[ "$(wc -l <"$TEST_TMP/pull.out")" -eq 1 ]
	[ "$(store_state "$ROOT")" = "$before" ]
	[ -z "$(ls -A "$ROOT/tmp")" ]

	start_registry
	md pull -q "$via/big/img:1"
	[ "$(md images -q --no-trunc "$via/big/img:1")" = "$(registry_image_id big/img 1)" ]
	cmp "$TEST_TMP/big/noise" "$(ls -d "$ROOT"/layers/*/diff/noise)"
}

# An OCI layout with busybox as one layer and big.tar as a second.
mk_two_layer_oci() {
	local d=$TEST_TMP/oci2 b=$TEST_TMP/bundle2
	umoci init --layout "$d"
	umoci new --image "$d:img"
	umoci unpack --image "$d:img" "$b" >/dev/null
	tar -xf "$BUSYBOX_TAR" -C "$b/rootfs"
	umoci repack --image "$d:img" "$b"
	tar -xf "$TEST_TMP/big.tar" -C "$b/rootfs"
	umoci repack --image "$d:img" "$b"
	rm -rf "$b"
}
