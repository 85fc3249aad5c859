#!/bin/bash
# podman's zstd:chunked partial pull: an image whose layer shares most of
# its files with one already pulled is fetched as the few ranges it lacks,
# in one GET with several ranges (206 multipart/byteranges).  Needs podman
# with overlay storage; skips where it cannot run.
. "$(dirname "$0")/lib.sh"
need podman
start_server

cat >"$TMP/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$TMP/runroot"
graphroot = "$TMP/root"
[storage.options]
pull_options = {enable_partial_images = "true", use_hard_links = "false", ostree_repos = ""}
EOF
export CONTAINERS_STORAGE_CONF=$TMP/storage.conf
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"
PM=(podman --cgroup-manager cgroupfs --events-backend none)
pm_cleanup() {
	"${PM[@]}" system reset -f >/dev/null 2>&1 || true
}
trap 'pm_cleanup; lib_cleanup' EXIT
"${PM[@]}" images >/dev/null 2>"$TMP/podman.err" ||
	skip "podman with overlay storage cannot run here: $(tail -n 1 "$TMP/podman.err")"

ctx=$TMP/ctx
mkdir -p "$ctx"
for i in $(seq 1 30); do head -c 20000 /dev/urandom >"$ctx/f$i"; done
printf 'FROM scratch\nCOPY . /\n' >"$ctx/Containerfile"
"${PM[@]}" build -q -t one "$ctx" >/dev/null 2>"$TMP/podman.err" ||
	skip "podman build: $(tail -n 1 "$TMP/podman.err")"
"${PM[@]}" push -q --tls-verify=false --compression-format zstd:chunked one \
	"docker://$REG/zc/img:one" 2>"$TMP/podman.err" ||
	skip "podman cannot push zstd:chunked: $(tail -n 1 "$TMP/podman.err")"
# Two files change: the second image's layer is new, most of its files not.
head -c 20000 /dev/urandom >"$ctx/f5"
head -c 20000 /dev/urandom >"$ctx/f17"
"${PM[@]}" build -q -t two "$ctx" >/dev/null || fail "podman build two"
"${PM[@]}" push -q --tls-verify=false --compression-format zstd:chunked two \
	"docker://$REG/zc/img:two" || fail "podman push two"
"${PM[@]}" rmi -a -f >/dev/null || fail "podman rmi"

"${PM[@]}" pull -q --tls-verify=false "$REG/zc/img:one" >/dev/null ||
	fail "podman pull one"
req GET /v2/zc/img/manifests/two -H 'Accept: application/vnd.oci.image.manifest.v1+json'
expect 200
layer=$(jq -r '.layers[0].digest' "$B")
size=$(jq -r '.layers[0].size' "$B")
from=$(wc -l <"$TMP/server.log")
"${PM[@]}" --log-level=debug pull --tls-verify=false "$REG/zc/img:two" \
	>"$TMP/pull.log" 2>&1 || fail "podman pull two: $(tail -n 3 "$TMP/pull.log")"
grep -q "Retrieved partial blob $layer" "$TMP/pull.log" ||
	skip "podman did not pull partially here: $(grep -i 'partial\|chunked' "$TMP/pull.log" | tail -n 2)"
# The layer came as ranges (206), far fewer bytes than the whole: a
# registry that answers several ranges with the whole blob (200) costs the
# full layer, however podman copes with it.
got=$(tail -n +"$from" "$TMP/server.log" |
	awk -v l="$layer" '$0 ~ "GET /v2/zc/img/blobs/" l " (200|206) " {
		for (i = 1; i < NF; i++) if ($i == 200 || $i == 206) {
			s += $(i + 1); break } } END { print s + 0 }')
[ "$got" -gt 0 ] && [ "$got" -lt $((size / 2)) ] ||
	fail "layer of $size bytes fetched as $got bytes"
grep -q "GET /v2/zc/img/blobs/$layer 200 " "$TMP/server.log" &&
	fail "the layer was sent whole"
# And the files are right, changed ones and reused ones.
mnt=$("${PM[@]}" image mount "$REG/zc/img:two") || fail "podman image mount"
for f in f1 f5 f17 f30; do
	cmp -s "$mnt/$f" "$ctx/$f" || fail "$f differs after the partial pull"
done
"${PM[@]}" image unmount "$REG/zc/img:two" >/dev/null || true
echo "PASS: $T (layer of $size bytes, $got fetched)"
