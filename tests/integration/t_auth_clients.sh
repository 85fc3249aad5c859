#!/bin/bash
# podman login and skopeo --creds, unchanged, against --auth basic and
# --auth token: login (a wrong password refused), push, pull back the same
# image, registry-to-registry copy (cross-repository mount), and nothing
# without credentials.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
need podman skopeo

PM=(podman --root "$TMP/root" --runroot "$TMP/runroot" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
SK=(skopeo --policy "$TMP/policy.json" --registries-conf /dev/null)
export REGISTRY_AUTH_FILE=$TMP/auth.json
echo '{}' >"$REGISTRY_AUTH_FILE"
"${PM[@]}" images >/dev/null 2>"$TMP/podman.err" ||
	skip "podman cannot run here: $(tail -n 1 "$TMP/podman.err")"
# Without local layers podman still logs in and out; no push or pull.
pm_layers=y
layers_ok podman "${PM[@]}" || pm_layers=

add_user alice 'alice pw: with spaces'
m=$(oci_layout "$TMP/layout" cl)
cfg=$(jq -r .config.digest "$m")
if [ -n "$pm_layers" ]; then
	(cd "$TMP" && "${PM[@]}" pull -q oci:layout:cl) >"$TMP/id" ||
		fail "podman pull oci:"
	id=$(tail -n 1 "$TMP/id")
fi

for mode in basic token; do
	start_server --auth "$mode"
	echo '{}' >"$REGISTRY_AUTH_FILE"

	# podman: a wrong password is refused, then login, push, pull.
	echo wrong | "${PM[@]}" login --tls-verify=false -u alice \
		--password-stdin "$REG" >/dev/null 2>&1 &&
		fail "$mode: podman login with a wrong password"
	printf 'alice pw: with spaces\n' | "${PM[@]}" login --tls-verify=false \
		-u alice --password-stdin "$REG" >/dev/null ||
		fail "$mode: podman login"
	if [ -n "$pm_layers" ]; then
		"${PM[@]}" push -q --tls-verify=false "$id" \
			"docker://$REG/team/pm:$mode" || fail "$mode: podman push"
		"${PM[@]}" rmi -f "$REG/team/pm:$mode" >/dev/null 2>&1 || true
		"${PM[@]}" pull -q --tls-verify=false "$REG/team/pm:$mode" \
			>"$TMP/id" || fail "$mode: podman pull"
		[ "sha256:$(tail -n 1 "$TMP/id")" = "$cfg" ] ||
			fail "$mode: pulled id $(tail -n 1 "$TMP/id")"
	fi
	"${PM[@]}" logout "$REG" >/dev/null || fail "$mode: podman logout"
	"${PM[@]}" pull -q --tls-verify=false "$REG/team/pm:$mode" \
		>/dev/null 2>&1 && fail "$mode: podman pulled without login"

	# skopeo with --creds, no login.
	"${SK[@]}" copy -q --dest-tls-verify=false \
		--dest-creds 'alice:alice pw: with spaces' "oci:$TMP/layout:cl" \
		"docker://$REG/team/sk:$mode" || fail "$mode: skopeo copy in"
	"${SK[@]}" copy -q --src-tls-verify=false --dest-tls-verify=false \
		--src-creds 'alice:alice pw: with spaces' \
		--dest-creds 'alice:alice pw: with spaces' \
		"docker://$REG/team/sk:$mode" "docker://$REG/team/sk2:$mode" ||
		fail "$mode: skopeo copy between repositories"
	# (skopeo may reuse podman's layer by a mount, which changes the
	# manifest: compare the config.)
	"${SK[@]}" inspect --raw --tls-verify=false \
		--creds 'alice:alice pw: with spaces' \
		"docker://$REG/team/sk2:$mode" >"$TMP/raw.json" ||
		fail "$mode: skopeo inspect"
	[ "$(jq -r .config.digest "$TMP/raw.json")" = "$cfg" ] ||
		fail "$mode: config $(jq -r .config.digest "$TMP/raw.json")"
	"${SK[@]}" inspect --tls-verify=false --creds alice:wrong \
		"docker://$REG/team/sk2:$mode" >/dev/null 2>&1 &&
		fail "$mode: skopeo inspect with a wrong password"
	"${SK[@]}" inspect --tls-verify=false --no-creds \
		"docker://$REG/team/sk2:$mode" >/dev/null 2>&1 &&
		fail "$mode: skopeo inspect without credentials"
	"${SK[@]}" copy -q --src-tls-verify=false \
		--src-creds 'alice:alice pw: with spaces' \
		"docker://$REG/team/sk2:$mode" "oci:$TMP/back-$mode:cl" ||
		fail "$mode: skopeo copy out"
	same_file "$TMP/layout/blobs/sha256/${cfg#sha256:}" \
		"$TMP/back-$mode/blobs/sha256/${cfg#sha256:}"
	stop_server
	! grep -q 'with spaces' "$TMP/server.log" || fail "a password in the log"
	echo "$mode: podman and skopeo ok"
done
