"""Buffered streams made without a size, and io.open_code: CPython 3.14's 8 KiB buffers."""

import io


def raw():
    return io.BytesIO(b"x" * 200000)


class Sub(io.BufferedReader):
    def __init__(self, stream):
        super().__init__(stream)


class Plain(io.BufferedReader):
    pass


print(len(io.BufferedReader(raw()).peek()), len(Sub(raw()).peek()), len(Plain(raw()).peek()),
      len(io.BufferedReader(raw(), 65536).peek()), len(io.BufferedReader(raw=raw()).peek()),
      len(io.BufferedRandom(raw()).peek()), len(io.BufferedRWPair(raw(), io.BytesIO()).peek()),
      0 < len(io.open_code(__file__).peek()) <= 8192)

# 10,000 bytes through an 8 KiB writer reach the raw stream before any flush.
written = io.BytesIO()
writer = io.BufferedWriter(written)
for _ in range(10):
    writer.write(b"y" * 1000)
print(len(written.getvalue()) > 0)

try:
    io.open_code(b"/etc/passwd")
except TypeError:
    print("open_code(bytes): TypeError")
