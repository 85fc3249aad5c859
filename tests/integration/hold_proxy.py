#!/usr/bin/env python3
"""hold_proxy.py PORT_FILE UPSTREAM_PORT HOLD_FILE HELD_FILE

A TCP proxy on 127.0.0.1 for the tests: it relays bytes to
127.0.0.1:UPSTREAM_PORT both ways, except that while HOLD_FILE exists
it forwards nothing a client sends (an S3 endpoint that stopped
answering) and creates HELD_FILE, so the test knows a request is being
held.  A HOLD_FILE that is not empty holds only what begins with its
text ("GET ": reads stall, writes go through).  Its port goes into
PORT_FILE."""
import os
import select
import socket
import sys
import threading
import time


def held_back(hold, data):
    try:
        with open(hold, "rb") as f:
            prefix = f.read().strip(b"\n")
    except OSError:
        return False
    return data.startswith(prefix)


def pump(client, upstream, hold, held):
    socks = [client, upstream]
    try:
        while True:
            ready, _, _ = select.select(socks, [], [], 0.05)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                if s is client and held_back(hold, data):
                    open(held, "w").close()
                    while os.path.exists(hold):
                        time.sleep(0.05)
                (upstream if s is client else client).sendall(data)
    except OSError:
        pass
    finally:
        client.close()
        upstream.close()


def main():
    port_file, up_port, hold, held = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        c, _ = ls.accept()
        u = socket.create_connection(("127.0.0.1", up_port))
        threading.Thread(target=pump, args=(c, u, hold, held), daemon=True).start()


if __name__ == "__main__":
    main()
