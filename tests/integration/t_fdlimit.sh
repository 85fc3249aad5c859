#!/bin/bash
# Open-file limits: serve raises its soft RLIMIT_NOFILE to the hard limit
# (systemd's soft default is 1024), and keeps --max-conns within what the
# descriptors allow, so that a flood of connections is answered (200, or
# 503 past the cap), never left waiting on an accept() that fails with
# EMFILE.
. "$(dirname "$0")/lib.sh"
need python3

# The server runs under the limits given in SOFT_NOFILE and HARD_NOFILE;
# the test and its clients keep theirs.
real=$CUSTOMS
CUSTOMS=$TMP/limited
cat >"$CUSTOMS" <<EOF
#!/bin/bash
ulimit -Sn "\$SOFT_NOFILE" && ulimit -Hn "\$HARD_NOFILE" && exec "$real" "\$@"
EOF
chmod +x "$CUSTOMS"
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] || [ "$hard" -ge 4096 ] ||
	skip "the hard open-file limit ($hard) is below 4096"

# 1. A low soft limit is raised to the hard one.
export SOFT_NOFILE=256 HARD_NOFILE=4096
start_server
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$PID/limits")
[ "$soft" = 4096 ] || fail "soft open-file limit is $soft, not 4096"
grep -q 'open files: 4096 allowed; connections: ' "$TMP/server.log" ||
	fail "no log line with the open-file limit"
req GET /v2/
expect 200
stop_server

# 2. Few descriptors and a big --max-conns: the cap comes down, and 300
# connections (more than there are descriptors) each get an answer while
# those served first stay open.
export SOFT_NOFILE=200 HARD_NOFILE=200
start_server --max-conns 4096
grep -q -- '--max-conns 4096 lowered to ' "$TMP/server.log" ||
	fail "--max-conns not lowered: $(grep 'open files' "$TMP/server.log")"
python3 - "$PORT" <<'EOF' || fail "connection flood: see above"
import socket, sys

port = int(sys.argv[1])
held, counts = [], {}
for i in range(300):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n")
    try:
        head = s.recv(4096)
    except socket.timeout:
        sys.exit(f"connection {i}: no answer in 10 s "
                 f"({counts} so far, {len(held)} held)")
    if not head:
        sys.exit(f"connection {i}: closed without an answer")
    status = int(head.split()[1])
    counts[status] = counts.get(status, 0) + 1
    if status == 200:
        held.append(s)
    else:
        s.close()
if set(counts) != {200, 503} or counts[503] < 100:
    sys.exit(f"expected 200s then 503s: {counts}")
for s in held:
    s.close()
EOF
req GET /v2/
expect 200
stop_server
