#!/usr/bin/env python3
"""mkrpmdb.py DB [EPOCH:]NAME-VERSION-RELEASE...: an rpmdb.sqlite at DB
holding one header blob per package (NAME, VERSION, RELEASE, ARCH x86_64
and EPOCH if given), for images whose packages the real databases of
tests/data/rpmdb do not hold (t_scan_distros, t_scan_layers)."""
import sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT,"
           " blob BLOB NOT NULL)")
for nvr in sys.argv[2:]:
    epoch, _, nvr = nvr.rpartition(":")
    n, v, r = nvr.rsplit("-", 2)
    ent, data = b"", b""
    for tag, val in ((1000, n), (1001, v), (1002, r), (1022, "x86_64")):
        ent += struct.pack(">IIII", tag, 6, len(data), 1)
        data += val.encode() + b"\0"
    if epoch:  # INT32, 4-byte aligned
        data += b"\0" * (-len(data) % 4)
        ent += struct.pack(">IIII", 1003, 4, len(data), 1)
        data += struct.pack(">I", int(epoch))
    db.execute("INSERT INTO Packages (blob) VALUES (?)",
               (struct.pack(">II", len(ent) // 16, len(data)) + ent + data,))
db.commit()
