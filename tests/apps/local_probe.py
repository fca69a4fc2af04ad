"""threading.local attribute setting and deletion, as CPython gives them."""

import threading


class Local(threading.local):
    def __init__(self):
        self.made_in = threading.current_thread().name

    @property
    def x(self):
        return self._x * 2

    @x.setter
    def x(self, v):
        self._x = v

    @x.deleter
    def x(self):
        del self._x


class Explicit(threading.local):
    def __setattr__(self, name, value):
        super().__setattr__(name, value * 10)


plain = threading.local()
try:
    del plain.missing
except AttributeError as e:
    print("del missing:", e)
plain.a = 1
del plain.a
print("deleted:", hasattr(plain, "a"))
try:
    plain.__dict__ = {}
except AttributeError as e:
    print("dict:", e)

local = Local()
local.x = 3
print("property:", local.x, sorted(local.__dict__))
del local.x
print("deleter:", sorted(local.__dict__))
try:
    del local.gone
except AttributeError as e:
    print("subclass del missing:", e)
e = Explicit()
e.n = 4
print("super().__setattr__:", e.n)

seen = []


def other():
    local.x = 5
    seen.append((local.x, local.made_in, hasattr(plain, "b")))


plain.b = 1
t = threading.Thread(target=other, name="worker")
t.start()
t.join()
print("other thread:", seen, local.made_in, hasattr(local, "_x"))
