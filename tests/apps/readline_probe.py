"""Buffered binary readline, as CPython gives it: printed lines to compare line for line."""

import io
import os
import random
import socket
import tempfile
import threading


def lines_of(f, size):
    out = []
    while True:
        line = f.readline(size) if size is not None else f.readline()
        if not line:
            return out
        out.append(line)


r = random.Random(5)
data = b"".join(bytes(r.randrange(256) for _ in range(r.choice([0, 1, 5, 40, 300, 9000]))) + b"\n"
                for _ in range(400)) + b"no newline at the end"
for buffering in (1, 7, 64, 8192):
    for size in (None, -1, 0, 1, 5, 100, 20000):
        f = io.BufferedReader(io.BytesIO(data), buffer_size=buffering)
        got = lines_of(f, size) if size != 0 else [f.readline(0) for _ in range(3)]
        ok = b"".join(got) == data if size != 0 else got == [b"", b"", b""]
        print("reader", buffering, size, len(got), ok, got[:2] == lines_of(io.BytesIO(data), size)[:2] if size else "")

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "f.bin")
    with open(path, "wb") as w:
        w.write(data)
    with open(path, "rb") as f:
        print("iterate", sum(1 for _ in f), f.tell() == len(data))
    with open(path, "rb") as f:
        print("readlines", len(f.readlines()), len(f.readlines(10)))
    with open(path, "rb") as f:
        first = f.readline()
        print("mixed", f.tell() == len(first), f.read(3) == data[len(first):len(first) + 3],
              f.readline() == data[len(first) + 3:data.index(b"\n", len(first)) + 1])
    with open(path, "r+b") as f:
        f.write(b"hello\nworld")
        print("random", f.readline() == data[11:data.index(b"\n", 11) + 1])
        f.seek(0)
        print("random", f.readline(), f.readline(3))
    f = open(path, "rb")
    f.close()
    try:
        f.readline()
    except ValueError as e:
        print("closed", e)

    class Counting(io.BufferedReader):
        reads = 0

        def read(self, n=-1):
            Counting.reads += 1
            return super().read(n)

    with Counting(io.FileIO(path, "rb")) as f:
        f.readline()
        print("subclass read calls", Counting.reads)

a, b = socket.socketpair()
reader = b.makefile("rb")


def send():
    for i in range(50):
        a.sendall(b"HTTP/1.1 200 OK\r\n" if i == 0 else b"X-Header-%d: %s\r\n" % (i, b"v" * i))
    a.sendall(b"\r\n")
    a.close()


t = threading.Thread(target=send)
t.start()
got = lines_of(reader, 65537)
t.join()
print("socket", len(got), got[0], got[-1], all(line.endswith(b"\r\n") for line in got))
pair = io.BufferedRWPair(io.BytesIO(b"a\nbb\n"), io.BytesIO())
print("rwpair", pair.readline(), pair.readline(), pair.readline())
