#!/bin/bash
# serial: run alone (timing or CPU sensitive; see tests/integration/run)
# backend: none (bcrypt under a login storm; the store is not involved)
# Failed logins from many addresses do not stall the server: passwords are
# checked (bcrypt) off the event loops, so while bad logins are in flight
# an anonymous GET /v2/ and a token request are answered before any of
# them; and past a global budget of failed logins, uncached passwords get
# 429 with Retry-After while recently verified ones keep working.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/auth_lib.sh"
need python3 htpasswd

# bcrypt at cost 13 (~0.5 s a check here, against ~50 ms at the default
# 10), so that "answered before any bad login" is a matter of order.
mkdir -p "$DATA"
htpasswd -nbB -C 13 alice alice-pw | sed '/^$/d' >"$DATA/htpasswd"

# storm PATH PROBE [PROBE_AUTH]: 8 addresses send one bad login each to
# PATH at once; then PROBE is asked.  Fails unless the probe's answer
# comes before every bad login's; prints the probe's status.
storm() {
	python3 - "$PORT" "$@" <<'EOF'
import base64, socket, sys, threading, time

port, path, probe = int(sys.argv[1]), sys.argv[2], sys.argv[3]
probe_auth = sys.argv[4] if len(sys.argv) > 4 else None
events, lock = [], threading.Lock()

def ask(src, path, auth):
    s = socket.create_connection(("127.0.0.1", port), timeout=120,
                                 source_address=(src, 0))
    head = f"GET {path} HTTP/1.1\r\nHost: t\r\n"
    if auth and auth.startswith("Bearer "):
        head += f"Authorization: {auth}\r\n"
    elif auth:
        head += "Authorization: Basic " + \
            base64.b64encode(auth.encode()).decode() + "\r\n"
    s.sendall((head + "\r\n").encode())
    got = b""
    while b"\r\n" not in got:
        more = s.recv(4096)
        if not more:
            raise SystemExit(f"{src}: closed without an answer")
        got += more
    s.close()
    return int(got.split()[1])

def bad(i):
    st = ask(f"127.0.1.{i + 1}", path, f"alice:wrong-{i}")
    with lock:
        events.append(("bad", st))

threads = [threading.Thread(target=bad, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
time.sleep(0.2)  # the bad logins are in
st = ask("127.0.0.1", probe, probe_auth)
with lock:
    events.append(("probe", st))
for t in threads:
    t.join()
kinds = [k for k, _ in events]
bad_st = sorted({s for k, s in events if k == "bad"})
if kinds[0] != "probe":
    raise SystemExit(f"the probe was answered after a bad login: {events}")
if bad_st != [401]:
    raise SystemExit(f"bad logins got {bad_st}, not 401")
print(st)
EOF
}

# 1. Basic mode: anonymous GET /v2/ (401) and a signed-in one (200) are
# answered while bad logins are being checked.
start_server --auth basic
as alice alice-pw
req GET /v2/
expect 200
st=$(storm /v2/ /v2/) || fail "anonymous GET /v2/ during bad logins"
[ "$st" = 401 ] || fail "anonymous GET /v2/: $st"
st=$(storm /v2/ /v2/ alice:alice-pw) || fail "alice during bad logins"
[ "$st" = 200 ] || fail "alice's GET /v2/: $st"
grep -q 'auth: failed login from 127.0.1.8' "$TMP/server.log" ||
	fail "the bad logins were not checked"
stop_server

# 2. The global budget: 3 failures a minute from all addresses together.
start_server --auth basic --login-fail-budget 3
as alice alice-pw
req GET /v2/
expect 200
for i in 1 2 3; do
	st=$(curl -sS -o /dev/null -w '%{http_code}' --interface "127.0.2.$i" \
		-u "alice:wrong-$i" "$URL/v2/")
	[ "$st" = 401 ] || fail "failure $i within the budget: $st"
done
as alice wrong-4
req GET /v2/
expect 429 TOOMANYREQUESTS
[ "$(hdr Retry-After)" -ge 1 ] || fail "429 without Retry-After"
grep -q 'too many failed logins on this registry' "$B" ||
	fail "429 does not say why: $(cat "$B")"
# alice's password was verified before: it still works.
as alice alice-pw
req GET /v2/
expect 200
stop_server

# 3. Token mode: bad Basic logins on the token endpoint do not hold up an
# anonymous token request, nor a request with a valid token.
start_server --auth token
as_anon
tok=$(get_token -- repository:app:pull)
[ -n "$tok" ] || fail "no anonymous token"
st=$(storm /v2/_customs/token /v2/_customs/token) ||
	fail "token request during bad logins"
[ "$st" = 200 ] || fail "anonymous token request: $st"
st=$(storm /v2/_customs/token /v2/ "Bearer $tok") ||
	fail "bearer request during bad logins"
[ "$st" = 200 ] || fail "GET /v2/ with a token: $st"
stop_server
