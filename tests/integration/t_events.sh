#!/bin/bash
# Events and webhooks: three endpoints from a config file (webhook_rx.py
# receivers on loopback): one with a secret and a header, one filtered to
# pushes of team/*, one that always answers 500.  A curl push gives push
# and scan.completed in distribution's envelope, signed; a pull gives a
# pull event, a delete a delete event, a DB import and SIGHUP db.updated;
# the filtered endpoint gets only what it asked for; the
# broken one ends in the dead-letter list and the metric.  Then the
# receiver goes down, images are pushed, customs restarts while it is
# down, more are pushed, and once the receiver is back every event
# arrives, in order per repository.  Last, a pull the policy refuses
# gives policy.denied, and a scan that fails for good scan.failed.
. "$(dirname "$0")/lib.sh"
need python3

RX=$ROOT/tests/integration/webhook_rx.py
SECRET=s3cret-for-tests

# rx_start NAME [PORT]: a receiver writing $TMP/NAME.jsonl; sets RXPID_NAME.
rx_start() {
	local name=$1 port=${2:-0} i

	rm -f "$TMP/$name.port"
	python3 "$RX" "$TMP/$name.jsonl" "$TMP/$name.port" "$TMP/$name.status" \
		"$port" 2>>"$TMP/rx.log" &
	eval "RXPID_$name=$!"
	RXPIDS="$RXPIDS $!"
	for i in $(seq 1 100); do
		[ -s "$TMP/$name.port" ] && return 0
		sleep 0.05
	done
	fail "receiver $name did not start"
}

# The receivers go with the test, whatever its end.
RXPIDS=
trap 'rc=$?; for p in $RXPIDS; do kill "$p" 2>/dev/null || true; done
(exit $rc); lib_cleanup' EXIT

rx_stop() {
	local pid

	eval "pid=\$RXPID_$1"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# events NAME: every event NAME received, one compact JSON line each,
# "action repo tag" first.
events() {
	[ -f "$TMP/$1.jsonl" ] || return 0
	python3 - "$TMP/$1.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    rec = json.loads(line)
    for ev in json.loads(rec["body"])["events"]:
        t = ev.get("target", {})
        print(ev["action"], t.get("repository", "-"), t.get("tag", "-"),
              t.get("digest", "-"))
PY
}

# wait_for NAME PATTERN [N]: until N (1) lines of events NAME match.
wait_for() {
	local i n=${3:-1}

	for i in $(seq 1 300); do
		[ "$(events "$1" | grep -c -- "$2" || true)" -ge "$n" ] && return 0
		sleep 0.1
	done
	events "$1" >&2
	fail "$1: no $n x '$2' after 30 s"
}

rx_start main
rx_start team
rx_start broken
echo 500 >"$TMP/broken.status"
cat >"$TMP/config.json" <<EOF
{
  "webhook": [
    {"name": "main", "url": "http://127.0.0.1:$(cat "$TMP/main.port")/hook",
     "secret": "$SECRET", "headers": {"X-Test": "yes"},
     "backoff": "1s", "backoff_max": "1s"},
    {"name": "team", "url": "http://127.0.0.1:$(cat "$TMP/team.port")/hook",
     "events": ["push"], "repos": ["team/*"]},
    {"name": "broken", "url": "http://127.0.0.1:$(cat "$TMP/broken.port")/",
     "backoff": "1s", "backoff_max": "1s", "give_up": "2s"}
  ]
}
EOF
start_server --config "$TMP/config.json"

# --- push and scan.completed, signed, in distribution's envelope -------
mkdir -p "$TMP/img"
dg=$(push_image app v1 "$TMP/img" one)
wait_for main "^push app v1 $dg"
wait_for main "^scan.completed app - $dg"
python3 - "$TMP/main.jsonl" "$SECRET" "$dg" "$PORT" <<'PY' || fail "envelope or signature"
import hashlib, hmac, json, sys
path, secret, dg, port = sys.argv[1:]
seen = set()
for line in open(path):
    rec = json.loads(line)
    h = rec["headers"]
    assert h["content-type"] == \
        "application/vnd.docker.distribution.events.v1+json", h
    assert h["x-test"] == "yes", h
    want = "sha256=" + hmac.new(secret.encode(), rec["body"].encode(),
                                hashlib.sha256).hexdigest()
    assert h["x-customs-signature"] == want, (h, want)
    for ev in json.loads(rec["body"])["events"]:
        seen.add(ev["action"])
        for k in ("id", "timestamp", "action", "target", "request", "actor",
                  "source"):
            assert k in ev, (k, ev)
        assert ev["source"]["instanceID"] and \
            ev["source"]["addr"].endswith(":" + port), ev["source"]
        t = ev["target"]
        if ev["action"] == "push":
            assert t["digest"] == dg and t["repository"] == "app", t
            assert t["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
            assert t["size"] == t["length"] > 0, t
            assert t["tag"] == "v1", t
            assert t["url"] == "http://127.0.0.1:%s/v2/app/manifests/%s" % (port, dg), t
            r = ev["request"]
            assert r["method"] == "PUT" and r["addr"] == "127.0.0.1", r
            assert r["useragent"].startswith("curl/"), r
        if ev["action"] == "scan.completed":
            s = ev["scan"]
            assert s["report"] == "/v2/app/_customs/scan/" + dg, s
            assert "counts" in s and "status" in s, s
assert {"push", "scan.completed"} <= seen, seen
PY

# A pull: its event is stored with the next batch.
req GET /v2/app/manifests/v1
expect 200
wait_for main "^pull app v1 $dg"
# A delete.
req DELETE "/v2/app/manifests/$dg"
expect 202
wait_for main "^delete app - $dg"

# A new vulnerability DB (imported, then SIGHUP): db.updated.
"$CUSTOMS" db import --db "$DATA/vulndb.db" "$ROOT/tests/data/advisories/osv" \
	>"$TMP/import.log" 2>&1 || fail "db import: $(tail -n 3 "$TMP/import.log")"
kill -HUP "$PID"
wait_for main "^db.updated - -"
python3 - "$TMP/main.jsonl" <<'PY' || fail "db.updated event"
import json, sys
evs = [ev for line in open(sys.argv[1])
       for ev in json.loads(json.loads(line)["body"])["events"]
       if ev["action"] == "db.updated"]
assert len(evs) == 1, evs
assert evs[0]["db"]["version"] and "rematch" in evs[0]["db"], evs[0]
PY

# --- filters: pushes of team/* only --------------------------------------
tdg=$(push_image team/app v1 "$TMP/img" two)
push_image other/app v1 "$TMP/img" three >/dev/null
wait_for main "^scan.completed team/app"
wait_for main "^scan.completed other/app"
wait_for team "^push team/app v1 $tdg"
req GET /v2/team/app/manifests/v1
expect 200
wait_for main "^pull team/app"
sleep 0.5
[ "$(events team | wc -l)" = 1 ] || {
	events team >&2
	fail "the filtered endpoint got more than the team/* push"
}

# --- an endpoint that always fails: dead letters --------------------------
for i in $(seq 1 100); do
	req GET /v2/_customs/events/dead
	expect 200
	[ "$(jq '[.dead[] | select(.endpoint == "broken")] | length' "$B")" -ge 1 ] &&
		break
	sleep 0.1
done
jq -e '.dead[0] | .endpoint == "broken" and .attempts >= 1 and
	(.error | test("500")) and .event.id != null' "$B" >/dev/null ||
	fail "dead list: $(head -c 400 "$B")"
# The README's command, pointed at this server.
readme="curl -s http://127.0.0.1:5000/v2/_customs/events/dead | jq '.dead[] | {endpoint, action, error}'"
eval "${readme//127.0.0.1:5000/$REG}" | jq -e -s 'map(select(.endpoint == "broken")) | length >= 1' \
	>/dev/null || fail "the README's dead-letter command"
req GET /metrics
expect 200
dead=$(awk '$1 == "customs_events_dead_total" { print $2 }' "$B")
[ -n "$dead" ] && [ "$dead" -ge 1 ] || fail "customs_events_dead_total: '$dead'"
grep -q '^customs_events_pending ' "$B" || fail "no customs_events_pending"
# Admin only: another address is refused without auth (the DB upload's
# rule); only loopback is reachable here, so check the route is gated.
req POST /v2/_customs/events/dead
[ "$STATUS" = 405 ] || [ "$STATUS" = 404 ] || fail "POST dead: $STATUS"

# --- receiver down, customs restarted meanwhile: nothing lost, in order --
MAIN_PORT=$(cat "$TMP/main.port")
rx_stop main
mv "$TMP/main.jsonl" "$TMP/main-before.jsonl"
for i in 1 2 3; do
	push_image down/a "v$i" "$TMP/img" "a$i" >/dev/null
	push_image down/b "v$i" "$TMP/img" "b$i" >/dev/null
done
stop_server
start_server --config "$TMP/config.json"
for i in 4 5 6; do
	push_image down/a "v$i" "$TMP/img" "a$i" >/dev/null
	push_image down/b "v$i" "$TMP/img" "b$i" >/dev/null
done
sleep 2
rx_start main "$MAIN_PORT"
wait_for main "^push down/a" 6
wait_for main "^push down/b" 6
for r in a b; do
	got=$(events main | awk -v r="down/$r" '$1 == "push" && $2 == r { print $3 }' |
		tr '\n' ' ')
	[ "$got" = "v1 v2 v3 v4 v5 v6 " ] || fail "down/$r pushes arrived as: $got"
	# Each scan.completed of a repository comes after its push.
	events main | awk -v r="down/$r" '
		$1 == "push" && $2 == r { pushed[$4] = 1 }
		$1 == "scan.completed" && $2 == r && !($4 in pushed) { bad = 1 }
		END { exit bad }' || fail "down/$r: a scan.completed before its push"
done
req GET /metrics
expect 200
awk '$1 ~ /^customs_events_delivered_total/ && $1 ~ /main/ { n = $2 }
	END { exit !(n >= 6) }' "$B" || fail "delivered_total: $(grep delivered "$B")"
stop_server

# --- policy.denied: a fresh store, a pull policy, no vulnerability data --
DATA=$TMP/data-policy
start_server --config "$TMP/config.json" --deny-severity critical
pdg=$(push_image gated/app v1 "$TMP/img" gated)
wait_for main "^scan.completed gated/app - $pdg"
req GET /v2/gated/app/manifests/v1
expect 403 DENIED
wait_for main "^policy.denied gated/app - $pdg"
python3 - "$TMP/main.jsonl" <<'PY' || fail "policy.denied event"
import json, sys
evs = [ev for line in open(sys.argv[1])
       for ev in json.loads(json.loads(line)["body"])["events"]
       if ev["action"] == "policy.denied"]
assert evs[0]["policy"]["reason"], evs[0]
assert evs[0]["request"]["method"] == "GET", evs[0]
PY
stop_server

# --- scan.failed: a scan worker that cannot get memory fails for good.
# (AddressSanitizer builds set no address-space limit.)
("$CUSTOMS" scan-worker --self-test >"$TMP/self.txt" 2>"$TMP/self.err") \
	2>/dev/null || true
if grep -qx "rlimit-as -1" "$TMP/self.txt"; then
	echo "sanitizer build: no address-space limit, scan.failed case skipped"
else
	DATA=$TMP/data-fail
	start_server --config "$TMP/config.json" --scan-workers 1 \
		--scan-memory 4MiB
	fdg=$(push_image failing/app v1 "$TMP/img" failing)
	wait_for main "^scan.failed failing/app - $fdg"
	python3 - "$TMP/main.jsonl" "$fdg" <<'PY' || fail "scan.failed event"
import json, sys
evs = [ev for line in open(sys.argv[1])
       for ev in json.loads(json.loads(line)["body"])["events"]
       if ev["action"] == "scan.failed"]
assert evs[0]["scan"]["error"], evs[0]
assert evs[0]["scan"]["report"] == "/v2/failing/app/_customs/scan/" + sys.argv[2]
PY
	stop_server
fi
rx_stop main
rx_stop team
rx_stop broken
echo "ok $T"
