#!/bin/bash
# podman pushes an image (OCI, then Docker schema 2) and pulls it back,
# with its storage private to the test (vfs under the temporary directory).
. "$(dirname "$0")/lib.sh"
need podman
start_server

PM=(podman --root "$TMP/root" --runroot "$TMP/runroot" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"
"${PM[@]}" images >/dev/null 2>"$TMP/podman.err" ||
	skip "podman cannot run here: $(tail -n 1 "$TMP/podman.err")"
layers_ok podman "${PM[@]}" || exit 77

m=$(oci_layout "$TMP/layout" pm)
cfg=$(jq -r .config.digest "$m")
# podman names the image after the path, which must be lower case.
(cd "$TMP" && "${PM[@]}" pull -q oci:layout:pm) >"$TMP/id" ||
	fail "podman pull oci:"
id=$(tail -n 1 "$TMP/id")
[ "sha256:$id" = "$cfg" ] || fail "image id $id, config $cfg"

"${PM[@]}" push -q --tls-verify=false "$id" "docker://$REG/pm/img:v1" ||
	fail "podman push"
"${PM[@]}" push -q --tls-verify=false --format v2s2 "$id" \
	"docker://$REG/pm/img:docker" || fail "podman push --format v2s2"

req GET /v2/pm/img/manifests/docker
expect 200
expect_hdr Content-Type application/vnd.docker.distribution.manifest.v2+json
req GET /v2/pm/img/manifests/v1
expect 200
mt=$(hdr Content-Type)
[ "$(jq -r .config.digest "$B")" = "$cfg" ] || fail "pushed config differs"
# The layer podman pushed holds our file.
ldg=$(jq -r '.layers[0].digest' "$B")
req GET "/v2/pm/img/blobs/$ldg"
expect 200
[ "$(sha256 "$B")" = "$ldg" ] || fail "layer does not match its digest"
tar -xzOf "$B" ./etc/hostname 2>/dev/null | grep -qx pm ||
	tar -xOf "$B" ./etc/hostname | grep -qx pm || fail "layer lacks etc/hostname"

# Pull both back into an empty store.
"${PM[@]}" rmi -a -f >/dev/null || fail "podman rmi"
for tag in v1 docker; do
	"${PM[@]}" pull -q --tls-verify=false "$REG/pm/img:$tag" >"$TMP/id" ||
		fail "podman pull $tag"
	[ "sha256:$(tail -n 1 "$TMP/id")" = "$cfg" ] ||
		fail "pulled $tag has id $(tail -n 1 "$TMP/id")"
done
"${PM[@]}" image inspect "$REG/pm/img:v1" --format '{{.Architecture}} {{.Os}}' \
	>"$TMP/inspect" || fail "podman image inspect"
[ "$(cat "$TMP/inspect")" = "amd64 linux" ] || fail "inspect: $(cat "$TMP/inspect")"
echo "podman pushed $mt"

stop_server
