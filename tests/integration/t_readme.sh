#!/bin/bash
# backend: none (checks the README against the embedded default it documents)
# The README stays true: every command in its ```sh blocks is run by a test.
#   - A block marked <!-- run: t_readme --> is run here, in order, each in
#     a bash -e of its own in one scratch directory, with the README's
#     addresses pointed at what this test starts: 127.0.0.1:5000 at a
#     customs on a free port, /var/lib/customs at ./var, /backup and
#     /etc/customs under the scratch directory, https://mirror.example at
#     a loopback feed server, https://registry-1.docker.io and
#     https://ghcr.io at a loopback docker-registry.  `customs serve`
#     stops the server running and starts the new one in the background
#     (with no scheduled feed update: the public feeds are not fetched);
#     curl fails on an HTTP error; podman and docker use stores (and a
#     dockerd) of the test's own, and are skipped, saying why, where they
#     cannot run (as in t_clients).  Files the blocks name: ./layout (an
#     OCI layout, tag latest), the image myimage, all.zip (OSV), main.json
#     (Alpine secdb), $PASSWORD.
#   - A block marked <!-- test: NAME --> has each command in
#     tests/integration/NAME.sh, character for character (blanks aside).
#   - Any other command is in some tests/integration file, or in ALLOWED
#     below with the reason no test here can run it.
# Plain assignments (HOST=..., the reader's choices) are not commands.
# Each ```json block parses.
# Also: the configuration table lists exactly `customs serve --help`'s
# keys, with their defaults (a mismatch prints the table to paste), and
# the Limits table names every bounding flag of serve, and the Signals
# section's SIGTERM drain holds with uploads in flight.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
. "$(dirname "$0")/clients_lib.sh"
need python3 zip sqlite3

README=$ROOT/README.md
IT=$ROOT/tests/integration

# Commands that change the machine or need what a test here has not:
# the fresh-machine run (make test on a clean Debian 12) covers them.
declare -A ALLOWED=(
	["make run"]="installs the build packages (apt-get) and serves on port 5000"
	["make test"]="installs the test packages (apt-get); runs every test"
	["make deps-build && apt-get install debhelper"]="installs packages"
	["apt-get install ../customs_0.1.0_amd64.deb"]="installs the package (t_package installs it with apt into a fresh root)"
	["make install"]="installs into /usr/local and /etc (t_install runs it with DESTDIR)"
	["systemd-sysusers"]="adds a user to the machine"
	["systemctl daemon-reload && systemctl enable --now customs"]="needs systemd as PID 1"
	["systemctl status customs"]="needs systemd as PID 1"
	["systemctl reload customs"]="needs systemd as PID 1 (the unit's ExecReload is checked by t_install)"
	["systemctl restart customs"]="needs systemd as PID 1"
	["systemctl edit customs"]="needs systemd as PID 1 and an editor"
	["journalctl -u customs -f"]="needs systemd as PID 1"
	["runuser -u customs -- customs db update --data /var/lib/customs"]="needs the package's user and the internet"
	["customs db update"]="downloads the public feeds (the same with --source is run below)"
	["curl -s http://127.0.0.1:5000/metrics | grep customs_http_requests_total"]="the Metrics section's own; t_metrics reads /metrics"
)

# --- 1. Each command is run or found. ----------------------------------
P=$TMP/readme
mkdir -p "$P"
python3 "$IT/readme_blocks.py" "$README" "$P" || fail "cannot read the README's blocks"
# The test scripts, blanks collapsed, for the verbatim search.
for f in "$IT"/*.sh; do
	tr -s ' \t' '  ' <"$f" | sed 's/^ //' >"$P/$(basename "$f").flat"
done
n=0 nrun=0 nfound=0 nallowed=0 missing=
while IFS=$'\t' read -r line mark cmd; do
	n=$((n + 1))
	case $mark in
	run)
		nrun=$((nrun + 1))
		continue
		;;
	test:*)
		f=$P/${mark#test:}.sh.flat
		[ -f "$f" ] || fail "README line $line names ${mark#test:}, which is no test"
		if grep -qF -- "$cmd" "$f"; then
			nfound=$((nfound + 1))
			continue
		fi
		;;
	*)
		if [ -n "${ALLOWED[$cmd]:-}" ]; then
			nallowed=$((nallowed + 1))
			continue
		fi
		if grep -lF -- "$cmd" "$P"/*.flat >"$P/where"; then
			echo "README line $line: in $(basename "$(head -n 1 "$P/where")" .flat): $cmd"
			nfound=$((nfound + 1))
			continue
		fi
		;;
	esac
	missing="$missing
  README line $line: $cmd"
done <"$P/commands"
[ -z "$missing" ] || fail "commands no test runs (mark the block, or add the command to a test):$missing"
echo "$n commands: $nrun run here, $nfound in tests, $nallowed allowed (not run by a test here)"
for f in "$P"/json-*.json; do
	[ -e "$f" ] || continue
	jq empty "$f" 2>"$P/jq.err" ||
		fail "README line $(basename "$f" .json | cut -d- -f2): the JSON block does not parse: $(cat "$P/jq.err")"
done

# --- 2. The configuration table is serve --help's. ---------------------
# One row a key: | `key` | VALUE | default | what |.
"$CUSTOMS" serve --help | awk '
	/^  --/ {
		key = substr($1, 3)
		if (key == "help" || key == "config") next
		rest = substr($0, index($0, $1) + length($1))
		val = ""
		if (match(rest, /^ [A-Z][A-Z_=]*/)) {
			val = substr(rest, 2, RLENGTH - 1)
			rest = substr(rest, RLENGTH + 1)
		}
		sub(/^ +/, "", rest)
		def = ""
		if (match(rest, / \(default [^()]*\)/)) {
			def = substr(rest, RSTART + 10, RLENGTH - 11)
			rest = substr(rest, 1, RSTART - 1) substr(rest, RSTART + RLENGTH)
		}
		if (sub(/ \(repeatable\)/, "", rest)) { sub(/ \(repeatable\)/, "", rest); val = val ", repeatable" }
		gsub(/\|/, "\\|", rest)
		printf "| `%s` | %s | %s | %s |\n", key, val == "" ? "boolean" : val, def == "" ? "" : "`" def "`", rest
	}' >"$P/keys.want"
{
	echo "| key | value | default | meaning |"
	echo "|---|---|---|---|"
	cat "$P/keys.want"
} >"$P/table.want"
awk '/^<!-- config-keys: begin -->$/ { on = 1; next }
	/^<!-- config-keys: end -->$/ { on = 0 }
	on' "$README" >"$P/table.got"
if ! cmp -s "$P/table.want" "$P/table.got"; then
	diff -u "$P/table.got" "$P/table.want" | head -n 40 >&2 || true
	echo "--- the table to paste between the config-keys lines:" >&2
	cat "$P/table.want" >&2
	fail "the README's configuration table differs from customs serve --help"
fi
echo "configuration table: $(wc -l <"$P/keys.want") keys, as serve --help"

# --- 3. The limits table names every bounding flag. ---------------------
awk '/^## Limits/ { on = 1; next } /^## / { on = 0 } on' "$README" >"$P/limits"
"$CUSTOMS" serve --help | awk '/^  --/ { print $1 }' |
	grep -E -- '^--(max-|scan-max-|scan-memory|scan-deadline|scan-wait-max|policy-wait|rate-|quota|.*-timeout|token-ttl|upload-ttl|login-fail-budget|gc-grace|scrub-rate|proxy-workers|db-max-age)' >"$P/bounds"
while read -r f; do
	grep -qF -- "\`$f\`" "$P/limits" ||
		{ [[ $f == --scan-max-* ]] && grep -qF -- '`--scan-max-*`' "$P/limits"; } ||
		fail "the Limits section lacks $f"
done <"$P/bounds"
echo "limits: $(wc -l <"$P/bounds") bounding flags, each in the table"

# --- 4. The marked blocks, run. ----------------------------------------
W=$TMP/w
mkdir -p "$W/etc/customs" "$W/backup" "$W/mirror/osv/Debian" "$W/mirror/v3.19"
cp "$ROOT/dist/customs.json.in" "$W/etc/customs/customs.json"
oci_layout "$W/layout" latest >/dev/null
(cd "$ROOT/tests/data/advisories/osv" && zip -qr "$W/all.zip" Debian) || fail "zip"
cp "$ROOT/tests/data/advisories/alpine-secdb/v3.18/main.json" "$W/main.json"
cp "$W/all.zip" "$W/mirror/osv/Debian/all.zip"
cp "$W/main.json" "$W/mirror/v3.19/main.json"
echo '{}' >"$W/mirror/.faults.json"
python3 "$IT/feedserver.py" "$W/mirror" "$TMP/mirrorport" &
px_bg $!
up_start
up_push "$W/layout:latest" library/debian:12
for _ in $(seq 1 50); do [ -s "$TMP/mirrorport" ] && break; sleep 0.1; done
[ -s "$TMP/mirrorport" ] || fail "the feed server did not start"

SKIPS=$TMP/skips
: >"$SKIPS"
PM=(podman --root "$TMP/pm" --runroot "$TMP/pmrun" --storage-driver vfs
	--cgroup-manager cgroupfs --events-backend none)
PM_WHY=$(pm_why "${PM[@]}")
if [ -z "$PM_WHY" ]; then
	id=$(cd "$W" && "${PM[@]}" pull -q oci:layout:latest | tail -n 1) &&
		"${PM[@]}" tag "$id" myimage || fail "podman: no myimage"
fi
DK_WHY=
if ! dkd_start "$TMP/dk" >"$TMP/dk.why" 2>&1; then
	DK_WHY=$(cat "$TMP/dk.why")
elif ! layers_ok docker docker >"$TMP/dk.why"; then
	DK_WHY=$(sed 's/^SKIP docker: //' "$TMP/dk.why")
else
	dkd_image myimage || fail "docker: no myimage"
fi
dk_exit() {
	local rc=$?

	set +e
	[ ! -s "$W/.serve.pid" ] || kill -TERM "$(cat "$W/.serve.pid")" 2>/dev/null
	dkd_stop
	(exit "$rc")
	px_exit
}
trap dk_exit EXIT

PORT=$(free_port)
MIRROR=http://127.0.0.1:$(cat "$TMP/mirrorport")
cat >"$TMP/prelude.sh" <<EOF
PORT=$PORT
W=$W
PASSWORD=readme-pw-1
export REGISTRY_AUTH_FILE=$REGISTRY_AUTH_FILE
export DOCKER_HOST=${DOCKER_HOST:-} DOCKER_CONFIG=${DOCKER_CONFIG:-}
EOF
cat >>"$TMP/prelude.sh" <<'EOF'
# customs serve: the running server stops, the new one starts in the
# background on this test's port.
customs() {
	local i

	if [ "$1" != serve ]; then
		"$CUSTOMS" "$@"
		return
	fi
	shift
	if [ -s "$W/.serve.pid" ]; then
		kill -TERM "$(cat "$W/.serve.pid")"
		while kill -0 "$(cat "$W/.serve.pid")" 2>/dev/null; do sleep 0.05; done
	fi
	rm -f "$W/.port"
	"$CUSTOMS" serve "$@" --listen "127.0.0.1:$PORT" --port-file "$W/.port" \
		--threads 2 --scan-workers 1 --db-update-interval 0 \
		>>"$SERVER_LOG" 2>&1 &
	echo $! >"$W/.serve.pid"
	for i in $(seq 1 200); do
		[ -s "$W/.port" ] && return 0
		kill -0 "$(cat "$W/.serve.pid")" 2>/dev/null || break
		sleep 0.05
	done
	echo "customs serve $* did not start: $(tail -n 3 "$SERVER_LOG")" >&2
	return 1
}
curl() { command curl -sS --fail-with-body --max-time 120 "$@"; echo; }
skopeo() {
	command skopeo --policy "$POLICY" --registries-conf /dev/null "$@"
}
podman() {
	if [ -n "$PM_WHY" ]; then
		echo "SKIP podman $*: $PM_WHY" | tee -a "$SKIPS"
		return 0
	fi
	command podman --root "$PM_ROOT" --runroot "$PM_RUNROOT" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend none "$@"
}
docker() {
	if [ -n "$DK_WHY" ]; then
		echo "SKIP docker $*: $DK_WHY" | tee -a "$SKIPS"
		return 0
	fi
	command docker "$@"
}
EOF
export CUSTOMS SERVER_LOG=$TMP/server.log POLICY=$TMP/policy.json SKIPS \
	PM_WHY DK_WHY PM_ROOT=$TMP/pm PM_RUNROOT=$TMP/pmrun
# (lib.sh's PID stays empty: the blocks' servers are stopped by dk_exit.)
for f in $(ls "$P"/run-*.sh | sort -V); do
	where=$(head -n 1 "$f")
	# Literal values: a quoted here-document expands no variable.
	sed -e "s|127\.0\.0\.1:5000|127.0.0.1:$PORT|g" \
		-e "s|https://mirror\.example|$MIRROR|g" \
		-e "s|https://registry-1\.docker\.io|$UP_URL|g" \
		-e "s|https://ghcr\.io|$UP_URL|g" \
		-e "s|/var/lib/customs|$W/var|g" \
		-e "s|/backup/|$W/backup/|g" \
		-e "s|/etc/customs/|$W/etc/customs/|g" "$f" >"$f.run"
	(cd "$W" && bash -e -o pipefail -c '. "$1"; . "$2"' sh "$TMP/prelude.sh" "$f.run") \
		>"$f.log" 2>&1 ||
		fail "$where: the block failed: $(tail -n 15 "$f.log")"
	echo "ran the block at ${where#\# }"
done
# What the blocks made is there.
[ -f "$W/deb/index.json" ] || fail "the pull-through block pulled nothing"
grep -q refused "$P"/run-*.sh.log || fail "the schema downgrade was not refused"
grep -q 'is newer than this customs knows' "$P"/run-*.sh.log ||
	fail "the downgrade refusal does not say why"

# --- 5. The Signals section's drain. ------------------------------------
# Two uploads in flight at SIGTERM: one whose last byte comes within the
# grace finishes (202); one far slower is closed at its end; a new
# connection is refused meanwhile; the exit is 0.
kill -TERM "$(cat "$W/.serve.pid")"
while kill -0 "$(cat "$W/.serve.pid")" 2>/dev/null; do sleep 0.05; done
: >"$W/.serve.pid"
start_server
# Larger than curl's first burst (64 KiB), so the PATCH is still under
# way when it is looked for, and done in about 2 s of the 5 s grace.
head -c 100000 /dev/urandom >"$TMP/small"
head -c 400000 /dev/urandom >"$TMP/big"
upload() { # FILE RATE OUT: a PATCH at RATE, in the background
	local loc

	req POST /v2/drain/app/blobs/uploads/
	expect 202
	loc=$(upload_location)
	command curl -s -o /dev/null -w '%{http_code}' --limit-rate "$2" \
		-X PATCH --data-binary "@$1" -H 'Content-Type: application/octet-stream' \
		"$URL$loc" >"$3" 2>&1 &
	UP_BG=$!
	# The PATCH holds the upload (409 to others) once it is under way.
	for _ in $(seq 1 200); do
		req GET "$loc"
		[ "$STATUS" = 409 ] && return 0
		sleep 0.05
	done
	fail "the upload did not start"
}
upload "$TMP/small" 50k "$TMP/small.code"
small=$UP_BG
upload "$TMP/big" 10k "$TMP/big.code"
big=$UP_BG
# (The log has the blocks' servers' lines too.)
n=$(wc -l <"$TMP/server.log")
kill -TERM "$PID"
for _ in $(seq 1 100); do
	tail -n +"$((n + 1))" "$TMP/server.log" | grep -q 'stopping: ' && break
	sleep 0.05
done
if command curl -s -o /dev/null "$URL/v2/" 2>/dev/null; then
	fail "a new connection was served while draining"
fi
wait "$small" || true
[ "$(cat "$TMP/small.code")" = 202 ] ||
	fail "an upload in flight did not finish during the drain: $(cat "$TMP/small.code")"
wait "$big" || true
[ "$(cat "$TMP/big.code")" != 202 ] || fail "the slow upload was not cut off"
rc=0
wait "$PID" || rc=$?
PID=
[ "$rc" = 0 ] || fail "serve exited $rc after SIGTERM"
tail -n +"$((n + 1))" "$TMP/server.log" | grep -q 'closing 1 connections still open' ||
	fail "the cut-off is not logged: $(tail -n +"$((n + 1))" "$TMP/server.log" | grep -E 'stopping|closing')"
echo "SIGTERM: an upload in flight finished, a slower one was cut at the grace, exit 0"

if [ -s "$SKIPS" ]; then
	echo "skipped here (the client cannot run):"
	sort -u "$SKIPS" | sed 's/^/  /'
fi
echo "ok: the README's commands"
