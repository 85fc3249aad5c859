#!/bin/bash
# Safe defaults of --listen: a port alone binds 127.0.0.1 unless auth is
# on; a non-loopback bind without auth is warned about at start; admin
# endpoints refuse non-loopback callers without auth; ports are checked.
#
# The test runs in a network namespace of its own (unshare -n, as root)
# where lo also carries 192.0.2.1 (TEST-NET-1): a non-loopback address
# whose traffic never leaves the namespace.  Without one the
# non-loopback caller part is skipped; so it is on the dist backend,
# whose shared RGW and PostgreSQL a new namespace could not reach.
if [ -z "${T_LISTEN_NETNS:-}" ] && [ "${CUSTOMS_TEST_BACKEND:-fs}" = fs ] &&
	command -v unshare >/dev/null 2>&1 &&
	unshare -n true 2>/dev/null; then
	T_LISTEN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
need ss

OTHER=
if [ -n "${T_LISTEN_NETNS:-}" ] && command -v ip >/dev/null 2>&1; then
	ip link set lo up && ip addr add 192.0.2.1/32 dev lo && OTHER=192.0.2.1
fi

# listeners PORT: the local addresses listening on PORT, one a line.
listeners() {
	ss -Hltn "sport = :$1" | awk '{ print $4 }' | sort
}

# A port alone without auth: loopback only.
start_server --listen :0
[ "$(listeners "$PORT")" = "127.0.0.1:$PORT" ] ||
	fail "--listen :0 --auth none listens on: $(listeners "$PORT")"
grep -q "WARNING" "$TMP/server.log" &&
	fail "loopback bind warned: $(grep WARNING "$TMP/server.log")"
req GET /v2/
expect 200
stop_server

# A port alone with auth: every interface.
add_user root root-pw
start_server --listen :0 --auth basic
l=$(listeners "$PORT")
case $l in
"0.0.0.0:$PORT" | "*:$PORT" | "[::]:$PORT") ;;
*) fail "--listen :0 --auth basic listens on: $l" ;;
esac
stop_server
rm -f "$DATA/htpasswd"

# Every interface without auth: a warning in the log, and the admin
# endpoint answers loopback callers only.
: >"$TMP/server.log"
start_server --listen 0.0.0.0:0 --auth none
grep -q "WARNING: --listen 0.0.0.0:0 with --auth none" "$TMP/server.log" ||
	fail "no warning for 0.0.0.0 without auth: $(cat "$TMP/server.log")"
req POST /v2/_customs/db --data-binary 'not a feed'
case $STATUS in 401 | 403) fail "loopback import refused: $STATUS $(cat "$B")" ;; esac
if [ -n "$OTHER" ]; then
	URL=http://$OTHER:$PORT
	req POST /v2/_customs/db --data-binary 'not a feed'
	expect 403 DENIED
	jq -r '.errors[0].message' "$B" | grep -q "loopback" ||
		fail "refusal does not say why: $(cat "$B")"
	# The registry itself stays open to it (that is what --auth none is).
	req GET /v2/
	expect 200
	URL=http://$REG
else
	echo "no network namespace: non-loopback caller not tried"
fi
stop_server

# Bad ports and addresses: usage errors, exit 2, one line.
for l in :99999 :65536 :abc : :-1 127.0.0.1 "[::1]:70000" "[::1]"; do
	rc=0
	"$CUSTOMS" serve --listen "$l" --data "$DATA" >"$TMP/out" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "--listen '$l' exited $rc: $(cat "$TMP/out")"
	[ "$(wc -l <"$TMP/out")" -eq 1 ] ||
		fail "--listen '$l' printed more than a line: $(cat "$TMP/out")"
	grep -q "^customs serve: --listen .*; see customs serve --help$" \
		"$TMP/out" || fail "--listen '$l' message: $(cat "$TMP/out")"
done
