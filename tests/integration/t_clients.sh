#!/bin/bash
# The client matrix: every OCI client Debian ships that can run here, each
# operation it has (push, pull, tag list, delete, index push, an artifact
# with a subject and the referrers listing it, zstd:chunked push and pull,
# a build from scratch, OCI layout round trips through umoci), against
# customs and against the reference (Debian's docker-registry, CNCF
# distribution).  Prints the matrix as a Markdown table at the end, then
# each failure's command and last lines.  Passes when every customs cell
# that can run is a pass; reference cells are recorded only.  A client
# that cannot run here (not installed, its local storage cannot apply
# layers, overlay unavailable) is a "skipped" cell saying why.  One known
# gap is recorded, not required: podman's partial pull, while customs
# answers several ranges other than with 206 multipart/byteranges.  Under a
# sanitizer build only customs is run (the reference does not change).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
. "$(dirname "$0")/clients_lib.sh"
need tar gzip zstd

SERVERS="customs reference"
if ldd "$CUSTOMS" 2>/dev/null | grep -q libasan; then
	SERVERS=customs
fi

D=$TMP/docker
clients_exit() {
	local rc=$?

	set +e
	dkd_stop
	umount_under "$TMP"
	(exit "$rc")
	px_exit
}
trap clients_exit EXIT

L=$TMP/layout
mkdir -p "$TMP/a/etc" "$TMP/b/etc" "$TMP/c/etc"
echo a >"$TMP/a/etc/hostname"
echo b >"$TMP/b/etc/hostname"
echo c >"$TMP/c/etc/hostname"
head -c 200000 /dev/urandom | base64 >"$TMP/c/etc/random"
ma=$(oci_image "$L" a "$TMP/a")
mb=$(oci_image "$L" b "$TMP/b")
mc=$(oci_image "$L" c "$TMP/c")
cfg_a=$(jq -r .config.digest "$L/blobs/sha256/${ma#sha256:}")
cfg_c=$(jq -r .config.digest "$L/blobs/sha256/${mc#sha256:}")
# A two-platform index of a and b, tagged multi in the layout.
read -r idx isz < <(oci_multi "$L" "$ma/amd64" "$mb/arm64")
# An artifact (not an image: its own artifactType, the empty config, a
# text layer) whose subject is image a.
echo -n '{}' >"$TMP/empty"
read -r edg esz < <(oci_blob "$L" "$TMP/empty")
echo "signed by the client matrix" >"$TMP/sig"
read -r sdg ssz < <(oci_blob "$L" "$TMP/sig")
jq -cn --arg a "$ma" --argjson sa "$(stat -c %s "$L/blobs/sha256/${ma#sha256:}")" \
	--arg e "$edg" --argjson es "$esz" --arg s "$sdg" --argjson ss "$ssz" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	artifactType: "application/vnd.customs.test.sig",
	config: {mediaType: "application/vnd.oci.empty.v1+json", digest: $e, size: $es},
	layers: [{mediaType: "text/plain", digest: $s, size: $ss}],
	subject: {mediaType: "application/vnd.oci.image.manifest.v1+json",
		  digest: $a, size: $sa}}' >"$TMP/art.json"
read -r art asz < <(oci_blob "$L" "$TMP/art.json")
jq --arg r "$art" --argjson rs "$asz" \
	'.manifests += [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $r,
	size: $rs, annotations: {"org.opencontainers.image.ref.name": "art"}}]' \
	"$L/index.json" >"$L/index.tmp"
mv "$L/index.tmp" "$L/index.json"

start_server
case $SERVERS in *reference*) up_start ;; esac
addr() { if [ "$1" = customs ]; then echo "$REG"; else echo "$UP"; fi; }

# The matrix: one "client|operation|server|result" line per cell.
MX=$TMP/matrix
: >"$MX"
DETAILS=$TMP/details
: >"$DETAILS"
cell() {
	echo "$1|$2|$3|$4" >>"$MX"
}

# why LOG: one word for a failure, from what the client printed.
why() {
	grep -oE '\b[A-Z]+(_[A-Z]+)+\b' "$1" | head -n 1 | grep . ||
		grep -oiE 'manifest blob unknown|manifest unknown|blob unknown|unsupported|not found|invalid|denied' \
			"$1" | head -n 1 | tr 'a-z ' 'A-Z_' | grep . ||
		grep -oE '\b[45][0-9][0-9]\b' "$1" | head -n 1 | grep . ||
		echo error
}

# run CLIENT OP SERVER CMD...: one cell, from CMD's exit status; RAN is
# ok when it passed.
run() {
	local c=$1 op=$2 s=$3 log=$TMP/cell.log

	shift 3
	RAN=
	if "$@" >"$log" 2>&1; then
		cell "$c" "$op" "$s" "✓"
		RAN=ok
		return 0
	fi
	cell "$c" "$op" "$s" "✗ $(why "$log")"
	{
		echo "$c $op against $s: $*"
		tail -n 4 "$log" | sed 's/^/    /'
	} >>"$DETAILS"
}

# run_if CLIENT OP SERVER WHY-NOT CMD...: run, if the last run passed.
run_if() {
	if [ -n "$RAN" ]; then
		run "$1" "$2" "$3" "${@:5}"
	else
		cell "$1" "$2" "$3" "skipped: $4"
	fi
}

# skipcell CLIENT OP REASON: the same for every server.
skipcell() {
	local s

	for s in $SERVERS; do cell "$1" "$2" "$s" "skipped: $3"; done
}

# --- skopeo, and umoci for OCI layout round trips ----------------------
sk_pull() { # SRC-REF DIR WANT-DIGEST
	rm -rf "$2"
	"${SK[@]}" copy -q --src-tls-verify=false "docker://$1" "oci:$2:x" || return 1
	[ "$(jq -r '.manifests[0].digest' "$2/index.json")" = "$3" ] ||
		{ echo "pulled $(jq -r '.manifests[0].digest' "$2/index.json"), want $3"; return 1; }
}
sk_tags() { # REPO TAG...
	local r=$1 t

	shift
	"${SK[@]}" list-tags --tls-verify=false "docker://$r" >"$TMP/tags" || return 1
	for t in "$@"; do
		jq -e --arg t "$t" '.Tags | index($t)' "$TMP/tags" >/dev/null ||
			{ echo "no $t in $(cat "$TMP/tags")"; return 1; }
	done
}
sk_delete() { # REF
	"${SK[@]}" delete --tls-verify=false "docker://$1" || return 1
	if "${SK[@]}" inspect --raw --tls-verify=false "docker://$1" >/dev/null 2>&1; then
		echo "still there after delete"
		return 1
	fi
}
sk_index() { # REF
	"${SK[@]}" copy -q --all --dest-tls-verify=false "oci:$L:multi" "docker://$1" ||
		return 1
	"${SK[@]}" inspect --raw --tls-verify=false "docker://$1" >"$TMP/raw" || return 1
	[ "$(sha256 "$TMP/raw")" = "$idx" ] || { echo "index digest differs"; return 1; }
	"${SK[@]}" inspect --raw --tls-verify=false "docker://${1%:*}@$mb" >/dev/null
}
sk_artifact() { # REF
	"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:art" "docker://$1" ||
		return 1
	"${SK[@]}" inspect --raw --tls-verify=false "docker://$1" >"$TMP/raw" || return 1
	[ "$(sha256 "$TMP/raw")" = "$art" ] || { echo "artifact digest differs"; return 1; }
}
referrers() { # ADDR REPO: the artifact is listed as a referrer of a
	curl -sS -o "$TMP/ref.json" -w '%{http_code}\n' \
		"http://$1/v2/$2/referrers/$ma" >"$TMP/ref.code" || return 1
	[ "$(cat "$TMP/ref.code")" = 200 ] ||
		{ echo "referrers: HTTP $(cat "$TMP/ref.code")"; return 1; }
	jq -e --arg d "$art" '.manifests | map(select(.digest == $d and
		.artifactType == "application/vnd.customs.test.sig")) | length == 1' \
		"$TMP/ref.json" >/dev/null ||
		{ echo "not listed: $(head -c 300 "$TMP/ref.json")"; return 1; }
}
um_round() { # ADDR: pull into a layout, unpack, add a file, repack, push, pull
	local a=$1 u=$TMP/um-$1

	rm -rf "$u" "$u.bundle" "$u.back"
	"${SK[@]}" copy -q --src-tls-verify=false "docker://$a/clients/skopeo:v1" "oci:$u:v1" ||
		return 1
	umoci unpack --image "$u:v1" "$u.bundle" || return 1
	echo umoci >"$u.bundle/rootfs/etc/umoci"
	umoci repack --image "$u:v2" "$u.bundle" || return 1
	"${SK[@]}" copy -q --dest-tls-verify=false "oci:$u:v2" "docker://$a/clients/umoci:v2" ||
		return 1
	"${SK[@]}" copy -q --src-tls-verify=false "docker://$a/clients/umoci:v2" "oci:$u.back:v2" ||
		return 1
	umoci unpack --image "$u.back:v2" "$u.back.bundle" || return 1
	grep -qx umoci "$u.back.bundle/rootfs/etc/umoci" &&
		grep -qx a "$u.back.bundle/rootfs/etc/hostname"
}

for s in $SERVERS; do
	a=$(addr "$s")
	run skopeo push "$s" "${SK[@]}" copy -q --dest-tls-verify=false \
		"oci:$L:a" "docker://$a/clients/skopeo:v1"
	"${SK[@]}" copy -q --dest-tls-verify=false "oci:$L:b" \
		"docker://$a/clients/skopeo:v2" >/dev/null 2>&1 || true
	"${SK[@]}" copy -q --dest-tls-verify=false --format v2s2 "oci:$L:b" \
		"docker://$a/clients/skopeo:v2d" >/dev/null 2>&1 || true
	run skopeo pull "$s" sk_pull "$a/clients/skopeo:v1" "$TMP/skpull-$s" "$ma"
	run skopeo "tag list" "$s" sk_tags "$a/clients/skopeo" v1 v2
	run skopeo "index push" "$s" sk_index "$a/clients/skopeo-multi:v1"
	run skopeo artifact "$s" sk_artifact "$a/clients/skopeo:art"
	run skopeo "referrers (API)" "$s" referrers "$a" clients/skopeo
	if command -v umoci >/dev/null 2>&1; then
		run umoci "layout round trip" "$s" um_round "$a"
	fi
	run skopeo delete "$s" sk_delete "$a/clients/skopeo-multi:v1"
done
command -v umoci >/dev/null 2>&1 ||
	skipcell umoci "layout round trip" "not installed (Debian package umoci)"

# --- podman ------------------------------------------------------------
PM=(podman --root "$TMP/pm" --runroot "$TMP/pmrun" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
pm_ok=$(pm_why "${PM[@]}")

pm_layout() { # TAG...: from the test's layout into an empty vfs store
	local t

	# (c pulled back as zstd has c's ID with another top layer.)
	"${PM[@]}" rmi -a -f >/dev/null 2>&1 || true
	for t in "$@"; do
		(cd "$TMP" && "${PM[@]}" pull -q "oci:layout:$t") >/dev/null 2>"$TMP/pm.err" ||
			fail "podman pull oci:layout:$t: $(tail -n 2 "$TMP/pm.err")"
	done
}
pm_pull() { # REF WANT-CONFIG
	"${PM[@]}" rmi -a -f >/dev/null 2>&1
	"${PM[@]}" pull -q --tls-verify=false "$1" >"$TMP/id" || return 1
	[ "sha256:$(tail -n 1 "$TMP/id")" = "$2" ] ||
		{ echo "pulled id $(tail -n 1 "$TMP/id"), want $2"; return 1; }
}
pm_tags() { # REPO TAG
	"${PM[@]}" search --list-tags --tls-verify=false "$1" >"$TMP/tags" || return 1
	grep -qE "[[:space:]]$2\$" "$TMP/tags" || { cat "$TMP/tags"; return 1; }
}
pm_index() { # ADDR
	"${PM[@]}" manifest rm clients-list >/dev/null 2>&1
	"${PM[@]}" manifest create clients-list >/dev/null || return 1
	"${PM[@]}" manifest add --tls-verify=false clients-list \
		"docker://$1/clients/skopeo:v1" >/dev/null || return 1
	"${PM[@]}" manifest add --tls-verify=false --arch arm64 clients-list \
		"docker://$1/clients/skopeo:v2" >/dev/null || return 1
	"${PM[@]}" manifest push -q --all --tls-verify=false clients-list \
		"docker://$1/clients/podman:list" || return 1
	"${SK[@]}" inspect --raw --tls-verify=false "docker://$1/clients/podman:list" \
		>"$TMP/raw" || return 1
	[ "$(jq '.manifests | length' "$TMP/raw")" = 2 ] ||
		{ echo "index: $(cat "$TMP/raw")"; return 1; }
}
pm_zstd_push() { # ADDR
	# Image c was never pushed: podman compresses it (rather than reuse a
	# gzip blob it knows is there).
	"${PM[@]}" push -q --tls-verify=false --compression-format zstd:chunked \
		"$cfg_c" "docker://$1/clients/podman:zstd" || return 1
	"${SK[@]}" inspect --raw --tls-verify=false "docker://$1/clients/podman:zstd" \
		>"$TMP/raw" || return 1
	jq -e '.layers[0].mediaType | endswith("+zstd")' "$TMP/raw" >/dev/null ||
		{ echo "layer not zstd: $(cat "$TMP/raw")"; return 1; }
}
# zstd:chunked pull into overlay storage with partial images on: podman
# fetches the layer's chunks with Range requests.
PMO=(podman --root "$TMP/pmo" --runroot "$TMP/pmorun" --storage-driver overlay
	--cgroup-manager cgroupfs --events-backend none)
cat >"$TMP/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$TMP/pmo"
runroot = "$TMP/pmorun"
[storage.options]
pull_options = {enable_partial_images = "true", use_hard_links = "false"}
EOF
pmo_ok=
pm_zstd_pull() { # ADDR LOG: a partial pull, no whole GET of the layer
	local ref=$1/clients/podman:zstd n ldg

	"${SK[@]}" inspect --raw --tls-verify=false "docker://$ref" >"$TMP/raw" ||
		return 1
	ldg=$(jq -r '.layers[0].digest' "$TMP/raw")
	n=$(wc -l <"$2")
	CONTAINERS_STORAGE_CONF=$TMP/storage.conf "${PMO[@]}" rmi -a -f >/dev/null 2>&1
	CONTAINERS_STORAGE_CONF=$TMP/storage.conf "${PMO[@]}" pull -q \
		--tls-verify=false "$ref" >"$TMP/id" || return 1
	[ "sha256:$(tail -n 1 "$TMP/id")" = "$cfg_c" ] ||
		{ echo "pulled $(tail -n 1 "$TMP/id"), want $cfg_c"; return 1; }
	tail -n +"$((n + 1))" "$2" | grep -E "GET /v2/clients/podman/blobs/$ldg" >"$TMP/gets"
	grep -qE "$ldg( HTTP/1.1\")? 206 " "$TMP/gets" ||
		{ echo "no ranged GET of the layer: $(cat "$TMP/gets")"; return 1; }
	if grep -qE "$ldg( HTTP/1.1\")? 200 " "$TMP/gets"; then
		echo "WHOLE_BLOB: the layer was fetched whole after the ranged GETs"
		return 1
	fi
}
# multi_range ADDR: whether the server answers two ranges with a 206
# multipart/byteranges (what the partial pull asks for).
multi_range() {
	local ct

	ct=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' \
		-H 'Range: bytes=0-9,20-29' "http://$1/v2/clients/skopeo/blobs/$(
		jq -r '.layers[0].digest' "$L/blobs/sha256/${ma#sha256:}")")
	case $ct in "206 multipart/byteranges"*) return 0 ;; esac
	return 1
}

if [ -z "$pm_ok" ]; then
	if ! CONTAINERS_STORAGE_CONF=$TMP/storage.conf "${PMO[@]}" images \
		>/dev/null 2>"$TMP/pmo.err"; then
		pmo_ok="overlay storage cannot run here: $(tail -n 1 "$TMP/pmo.err")"
	fi
	for s in $SERVERS; do
		a=$(addr "$s")
		# Images a and c from the layout (a pull below empties the store).
		pm_layout a c
		run podman push "$s" "${PM[@]}" push -q --tls-verify=false \
			"$cfg_a" "docker://$a/clients/podman:v1"
		run podman pull "$s" pm_pull "$a/clients/podman:v1" "$cfg_a"
		run podman "tag list" "$s" pm_tags "$a/clients/podman" v1
		run podman "index push" "$s" pm_index "$a"
		pm_layout c
		run podman "zstd:chunked push" "$s" pm_zstd_push "$a"
		run podman "zstd:chunked pull (vfs)" "$s" pm_pull \
			"$a/clients/podman:zstd" "$cfg_c"
		if [ -z "$pmo_ok" ]; then
			log=$TMP/server.log
			[ "$s" = customs ] || log=$UP_DIR/log
			run podman "zstd:chunked partial pull (overlay)" "$s" \
				pm_zstd_pull "$a" "$log"
			# Until customs answers several ranges with multipart/
			# byteranges (issue 15), podman falls back to the whole
			# blob: recorded, not required.
			if [ -z "$RAN" ] && [ "$s" = customs ] && ! multi_range "$a"; then
				sed -i '$ s/$/ (known gap: no multipart\/byteranges)/' "$MX"
			fi
		fi
	done
	[ -z "$pmo_ok" ] ||
		skipcell podman "zstd:chunked partial pull (overlay)" "$pmo_ok"
	skipcell podman delete "podman has no remote delete"
	skipcell podman artifact "podman artifact needs podman 5 (Debian 12 has $(podman --version | cut -d' ' -f3))"
else
	for op in push pull "tag list" "index push" "zstd:chunked push" \
		"zstd:chunked pull (vfs)" "zstd:chunked partial pull (overlay)"; do
		skipcell podman "$op" "$pm_ok"
	done
fi

# --- buildah: an image from scratch --------------------------------------
BH=(buildah --root "$TMP/bh" --runroot "$TMP/bhrun" --storage-driver vfs)
bh_build_push() { # ADDR
	local c

	c=$("${BH[@]}" from scratch) || return 1
	echo buildah >"$TMP/bh-file"
	"${BH[@]}" copy "$c" "$TMP/bh-file" /etc/built-by >/dev/null || return 1
	"${BH[@]}" config --cmd /bin/true --arch amd64 --os linux "$c" || return 1
	"${BH[@]}" commit -q "$c" clients-built >"$TMP/bh-id" || return 1
	"${BH[@]}" rm "$c" >/dev/null
	"${BH[@]}" push -q --tls-verify=false clients-built \
		"docker://$1/clients/buildah:v1"
}
bh_pull() { # ADDR
	"${BH[@]}" rmi -a -f >/dev/null 2>&1
	"${BH[@]}" pull -q --tls-verify=false "$1/clients/buildah:v1" >"$TMP/id" ||
		return 1
	[ "$(tail -n 1 "$TMP/id")" = "$(tail -n 1 "$TMP/bh-id")" ] ||
		{ echo "pulled $(tail -n 1 "$TMP/id"), built $(cat "$TMP/bh-id")"; return 1; }
}
if ! command -v buildah >/dev/null 2>&1; then
	skipcell buildah "build+push" "not installed (Debian package buildah)"
	skipcell buildah pull "not installed (Debian package buildah)"
elif ! "${BH[@]}" images >/dev/null 2>"$TMP/bh.err"; then
	skipcell buildah "build+push" "cannot run here: $(tail -n 1 "$TMP/bh.err")"
	skipcell buildah pull "cannot run here"
elif [[ $pm_ok == "local storage cannot apply layers here"* ]]; then
	# buildah commits through the same containers/storage as podman.
	skipcell buildah "build+push" "$pm_ok (as podman)"
	skipcell buildah pull "$pm_ok (as podman)"
else
	for s in $SERVERS; do
		a=$(addr "$s")
		run buildah "build+push" "$s" bh_build_push "$a"
		run_if buildah pull "$s" "nothing pushed" bh_pull "$a"
	done
fi

# --- docker: one engine of the test's own, each CLI there is -------------

# dk_start: prints why not when the engine cannot run here.
dk_start() {
	DKD_CLI=$1 dkd_start "$D" && layers_ok docker "$1"
}
dk_push() { # CLI REF
	"$1" tag customs-layers-probe:v1 "$2" && "$1" push -q "$2"
}
dk_pull() { # CLI REF
	"$1" rmi -f "$2" >/dev/null 2>&1
	"$1" pull -q "$2" || return 1
	[ "$("$1" image inspect --format '{{.Id}}' "$2")" = "$DK_ID" ] ||
		{ echo "pulled $("$1" image inspect --format '{{.Id}}' "$2"), want $DK_ID"; return 1; }
}
dk_index() { # CLI ADDR REPO OTHER-TAG
	"$1" manifest rm "$2/$3:list" >/dev/null 2>&1
	"$1" manifest create --insecure "$2/$3:list" "$2/$3:v1" \
		"$2/clients/skopeo:$4" >/dev/null || return 1
	"$1" manifest annotate --arch arm64 "$2/$3:list" "$2/clients/skopeo:$4" ||
		return 1
	"$1" manifest push --insecure "$2/$3:list" >/dev/null || return 1
	"${SK[@]}" inspect --raw --tls-verify=false "docker://$2/$3:list" \
		>"$TMP/raw" || return 1
	[ "$(jq '.manifests | length' "$TMP/raw")" = 2 ] ||
		{ echo "index: $(cat "$TMP/raw")"; return 1; }
}

engine=$(dirname "$(command -v dockerd 2>/dev/null || echo /nonexistent/x)")/../bin/docker
clis=
[ -x "$engine" ] && clis=$engine
other=$(command -v docker 2>/dev/null) && [ "$other" != "$engine" ] &&
	clis="$clis $other"
dk_ok=
if ! command -v dockerd >/dev/null 2>&1 || [ -z "$clis" ]; then
	dk_ok="not installed (Debian package docker.io)"
else
	export DOCKER_HOST=unix://$D/docker.sock DOCKER_CONFIG=$D/config
	dk_start "${clis%% *}" >"$TMP/dk.why" 2>&1 ||
		dk_ok=$(sed 's/^SKIP docker: //' "$TMP/dk.why")
fi
for c in $clis; do
	v=$("$c" version --format '{{.Client.Version}}' 2>/dev/null ||
		"$c" --version | sed -E 's/.*version ([^,]*).*/\1/')
	name="docker $v"
	if [ -n "$dk_ok" ]; then
		for op in push pull "index push"; do skipcell "$name" "$op" "$dk_ok"; done
		continue
	fi
	# The layers_ok probe's image, loaded again for this CLI.
	layers_probe_docker "$c" >/dev/null 2>&1 || true
	dd=$TMP/layers-probe-docker
	"$c" load -q -i "$dd.tar" >/dev/null 2>&1 || fail "$c load"
	DK_ID=$("$c" image inspect --format '{{.Id}}' customs-layers-probe:v1)
	repo=clients/docker-${v%%.*}
	for s in $SERVERS; do
		a=$(addr "$s")
		run "$name" push "$s" dk_push "$c" "$a/$repo:v1"
		run "$name" pull "$s" dk_pull "$c" "$a/$repo:v1"
		# The 20.10 CLI's manifest create takes Docker schema 2 only
		# ("unsupported manifest media type": its limit, not a server's).
		other=v2
		[ "${v%%.*}" != 20 ] || other=v2d
		run "$name" "index push" "$s" dk_index "$c" "$a" "$repo" "$other"
	done
	skipcell "$name" "tag list" "the CLI has no remote tag list"
	skipcell "$name" delete "the CLI has no remote delete"
done
[ -n "$clis" ] || skipcell docker push "$dk_ok"
dkd_stop
umount_under "$D"

# --- containerd's ctr, a hosts.toml mirror -------------------------------
# ctr_pull ADDR: mirror.invalid/... resolves through hosts.toml to ADDR
# (the name's own server does not exist), then the content is there.
ctr_pull() {
	local h=$TMP/hosts-$1

	hosts_toml "$h" mirror.invalid http://127.0.0.1:9 "http://$1"
	"${CTR[@]}" images pull --hosts-dir "$h" --platform linux/amd64 \
		--snapshotter native "mirror.invalid/clients/skopeo:v1" || return 1
	"${CTR[@]}" images ls -q | grep -qx "mirror.invalid/clients/skopeo:v1" ||
		return 1
	[ "$("${CTR[@]}" images ls | awk '$1 == "mirror.invalid/clients/skopeo:v1" { print $3 }')" = "$ma" ] ||
		{ "${CTR[@]}" images ls; return 1; }
}
ctr_push() { # ADDR
	"${CTR[@]}" images push --plain-http "$1/clients/ctr:v1" \
		"mirror.invalid/clients/skopeo:v1" || return 1
	"${SK[@]}" inspect --raw --tls-verify=false "docker://$1/clients/ctr:v1" \
		>"$TMP/raw" || return 1
	[ "$(sha256 "$TMP/raw")" = "$ma" ] || { echo "pushed digest differs"; return 1; }
}
if ! command -v containerd >/dev/null 2>&1 || ! command -v ctr >/dev/null 2>&1; then
	skipcell ctr "pull (hosts.toml)" "not installed (Debian package containerd)"
elif ! ctd_start; then
	skipcell ctr "pull (hosts.toml)" "containerd cannot start here: $(tail -n 1 "$CTD/log")"
else
	for s in $SERVERS; do
		a=$(addr "$s")
		"${CTR[@]}" images rm "mirror.invalid/clients/skopeo:v1" >/dev/null 2>&1 || true
		run ctr "pull (hosts.toml)" "$s" ctr_pull "$a"
		run_if ctr push "$s" "nothing pulled" ctr_push "$a"
	done
fi

# --- what Debian 12 does not ship --------------------------------------
for c in crane oras; do
	if ! command -v "$c" >/dev/null 2>&1; then
		skipcell "$c" all "no Debian 12 package provides it"
	fi
done

# --- the matrix -------------------------------------------------------
echo
echo "| client | operation | customs | reference |"
echo "|---|---|---|---|"
awk -F'|' '
	{ k = $1 "|" $2; if (!(k in seen)) { seen[k] = 1; order[n++] = k }
	  v[k "|" $3] = $4 }
	END { for (i = 0; i < n; i++) { split(order[i], p, "|")
		r = v[order[i] "|reference"]; if (r == "") r = "not run"
		printf "| %s | %s | %s | %s |\n", p[1], p[2], v[order[i] "|customs"], r } }' "$MX"
if [ -s "$DETAILS" ]; then
	echo
	echo "Failures:"
	cat "$DETAILS"
fi
# Where the reference fails and customs passes.
awk -F'|' '$3 == "customs" && $4 == "✓" { ok[$1 "|" $2] = 1 }
	$3 == "reference" && $4 ~ /^✗/ { bad[$1 "|" $2] = $4 }
	END { for (k in bad) if (k in ok) { split(k, p, "|")
		print "reference fails, customs passes: " p[1] " " p[2] " (" bad[k] ")" } }' "$MX"
awk -F'|' '$3 == "reference" && $4 == "✓" { ok[$1 "|" $2] = 1 }
	$3 == "customs" && $4 ~ /^✗/ { bad[$1 "|" $2] = $4 }
	END { for (k in bad) if (k in ok) { split(k, p, "|")
		print "customs fails, reference passes: " p[1] " " p[2] " (" bad[k] ")" } }' "$MX"

stop_server
bad=$(awk -F'|' '$3 == "customs" && $4 ~ /^✗/ && $4 !~ /known gap/ { print $1 " " $2 }' "$MX")
[ -z "$bad" ] || fail "customs cells failed: $(echo "$bad" | paste -sd, -)"
