#!/bin/bash
# Two nodes on one PostgreSQL (--meta): what one stores the other serves,
# the scan queue is shared (a job claimed by a node killed with SIGKILL is
# taken by the other once the dead node's session is gone), and a
# report waiter on one node is woken by a scan that ends on the other
# (LISTEN/NOTIFY).  The database is one of the test's own (lib_pg.sh).
#
# Until an object store backs the blobs, the nodes share them as a
# directory: node B's DIR/blobs is a symlink to node A's (renames into it
# stay on one filesystem); each node keeps its own uploads, locks and
# scratch, and gc's pin is a PostgreSQL advisory lock across them.
. "$(dirname "$0")/lib.sh"
need_backend fs "the nodes share their own PostgreSQL database and blob directory"
. "$(dirname "$0")/scanpush_lib.sh"

pg_db
CI=$PG_CI

declare -A NPID NURL
pg_cleanup() {
	local rc=$? n

	for n in "${!NPID[@]}"; do
		kill -KILL "${NPID[$n]}" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for n in a b; do
			[ -s "$TMP/$n/server.log" ] || continue
			echo "--- node $n:" >&2
			tail -n 15 "$TMP/$n/server.log" >&2
		done
	fi
	(exit "$rc")
	lib_cleanup
}
trap pg_cleanup EXIT

sql() {
	psql "$CI" -XAtqc "$1"
}

# Node a names the server by conninfo, node b by URL, with a password
# (the server trusts loopback and ignores it) that no log may show.
PW=pw-not-to-be-logged
declare -A META=(
	[a]="$CI application_name=node-a"
	[b]="postgresql://postgres:$PW@127.0.0.1:$(sed 's/.*port=\([0-9]*\).*/\1/' <<<"$CI")/$(sed 's/.*dbname=\([^ ]*\).*/\1/' <<<"$CI")?application_name=node-b"
)

# node NAME [flags]: starts node NAME (data in $TMP/NAME/data); makes it
# the one req and the sp_ helpers talk to.
node() {
	local n=$1 i

	shift
	mkdir -p "$TMP/$n"
	rm -f "$TMP/$n/port"
	"$CUSTOMS" serve --listen 127.0.0.1:0 --port-file "$TMP/$n/port" \
		--data "$TMP/$n/data" --threads 2 --scan-workers 1 \
		--scan-layers=false --db-update-interval 0 \
		--meta "${META[$n]}" "$@" \
		>>"$TMP/$n/server.log" 2>&1 &
	NPID[$n]=$!
	for i in $(seq 1 200); do
		[ -s "$TMP/$n/port" ] && break
		kill -0 "${NPID[$n]}" 2>/dev/null ||
			fail "node $n exited: $(tail -n 5 "$TMP/$n/server.log")"
		sleep 0.05
	done
	NURL[$n]=http://127.0.0.1:$(cat "$TMP/$n/port")
	on "$n"
}

# on NAME: req and the sp_ helpers talk to node NAME.
on() {
	URL=${NURL[$1]}
	REG=${URL#http://}
}

# The node (a or b) whose session owns the running job of digest $1.
owner() {
	sql "SELECT substr(a.application_name, 6) FROM scan_jobs j
	     JOIN pg_stat_activity a ON a.pid = j.owner_pid
	     WHERE j.digest = '$1' AND j.state = 'running'"
}

wait_running() {
	local i

	for i in $(seq 1 600); do
		[ -n "$(owner "$1")" ] && return 0
		sleep 0.05
	done
	fail "scan of $1 never ran: $(sql "SELECT state FROM scan_jobs
		WHERE digest = '$1'")"
}

sp_layout
mkdir -p "$TMP/a/data" "$TMP/b/data/blobs"
sp_db "$TMP/a/data/vulndb.db"
cp "$TMP/a/data/vulndb.db" "$TMP/b/data/vulndb.db"
rmdir "$TMP/b/data/blobs"
mkdir -p "$TMP/a/data/blobs"
ln -s "$TMP/a/data/blobs" "$TMP/b/data/blobs"
node a
node b
[ "$(sql 'SELECT version FROM schema_version')" = 6 ] ||
	fail "schema version: $(sql 'SELECT * FROM schema_version')"
grep -q "metadata in PostgreSQL" "$TMP/a/server.log" ||
	fail "node a is not on PostgreSQL"
grep -q "metadata in PostgreSQL" "$TMP/b/server.log" ||
	fail "node b is not on PostgreSQL"

# --- Push to A, read from B ---------------------------------------------------
on a
deb=$(sp_push debian pg/debian v1)
on b
req GET /v2/pg/debian/manifests/v1
expect 200
[ "$(sha256sum <"$B" | cut -d' ' -f1)" = "${deb#sha256:}" ] ||
	fail "B serves other bytes for the manifest"
req GET /v2/pg/debian/tags/list
expect 200
jq -e '.tags == ["v1"]' "$B" >/dev/null || fail "tags on B: $(cat "$B")"
req GET /v2/_catalog
expect 200
jq -e '.repositories == ["pg/debian"]' "$B" >/dev/null ||
	fail "catalog on B: $(cat "$B")"
cfg=$(jq -r .config.digest "$(sp_manifest_file debian)")
req GET "/v2/pg/debian/blobs/$cfg"
expect 200
sp_report pg/debian "$deb" 120
sp_same_findings "$B" debian-bookworm-minbase
req GET "/v2/pg/debian/referrers/$deb$SP_RT"
expect 200
jq -e '.manifests | length == 1' "$B" >/dev/null ||
	fail "referrers on B: $(cat "$B")"
# A tag deleted on B is gone on A.
on a
push_manifest pg/debian v2 "$(sp_manifest_file debian)" "$OCI_MANIFEST" \
	>/dev/null
on b
req DELETE /v2/pg/debian/manifests/v2
expect 202
on a
req GET /v2/pg/debian/manifests/v2
expect 404 MANIFEST_UNKNOWN

# --- A waiter on one node, the scan on the other ------------------------------
# A slow scan keeps one node's only worker busy; the other node scans the
# next image, for which the busy node holds a waiter.
on a
slow=$(sp_slow pg/slow v1 800)
wait_running "$slow"
x=$(owner "$slow")
y=$([ "$x" = a ] && echo b || echo a)
on a
other=$(sp_slow pg/other v1 160)
wait_running "$other"
[ "$(owner "$other")" = "$y" ] || fail "$other not taken by node $y"
curl -s -o "$TMP/wait.json" -w '%{http_code}' \
	"${NURL[$x]}/v2/pg/other/_customs/scan/$other?wait=300" \
	>"$TMP/wait.code" &
waiter=$!
sleep 1
[ "$(sql "SELECT state FROM scan_jobs WHERE digest = '$other'")" = running ] ||
	fail "the scan ended before the waiter was in place; make it slower"
wait "$waiter"
[ "$(cat "$TMP/wait.code")" = 200 ] ||
	fail "waiter on node $x: $(cat "$TMP/wait.code") $(cat "$TMP/wait.json")"
jq -e '.vulnerabilities | length > 0' "$TMP/wait.json" >/dev/null ||
	fail "report on $x: $(head -c 300 "$TMP/wait.json")"

# --- A node killed mid-scan ---------------------------------------------------
[ "$(owner "$slow")" = "$x" ] || fail "$slow ended before the kill"
kill -KILL "${NPID[$x]}"
wait "${NPID[$x]}" 2>/dev/null || true
unset "NPID[$x]"
on "$y"
sp_report pg/slow "$slow" 600
sp_same_findings "$B" debian-bookworm-minbase
req GET "/v2/pg/slow/referrers/$slow$SP_RT"
expect 200
jq -e '.manifests | length == 1' "$B" >/dev/null ||
	fail "referrers of the recovered scan: $(cat "$B")"
[ "$(sql "SELECT attempts FROM scan_jobs WHERE digest = '$slow'")" -ge 0 ] ||
	fail "job row"
# A job ends after its report is served (its SBOM referrers follow it).
req GET /v2/_customs/db
expect 200
sp_wait_idle "$(jq -r .version "$B")"
jq -e '.scans.failed == 0' "$B" >/dev/null || fail "queue: $(cat "$B")"

# --- gc on the survivor sees every node's rows ---------------------------------
kill -TERM "${NPID[$y]}"
wait "${NPID[$y]}" || fail "node $y did not stop cleanly"
unset "NPID[$y]"
"$CUSTOMS" gc --data "$TMP/$y/data" --meta "$CI" --gc-grace 0 --dry-run \
	>"$TMP/gc.out" 2>&1 || fail "gc: $(tail -n 5 "$TMP/gc.out")"
grep -q "would free 0 blob" "$TMP/gc.out" ||
	fail "gc would free what the nodes keep: $(tail -n 5 "$TMP/gc.out")"
if grep -rq -- "$PW" "$TMP/a/server.log" "$TMP/b/server.log" "$TMP/gc.out"; then
	fail "the password is in a log"
fi
