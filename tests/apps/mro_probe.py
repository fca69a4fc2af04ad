"""Prints, as JSON, the method resolution orders that differ between RustPython 0.6.0 and
CPython, so tests/compat.rs can compare rwsgi's answers with CPython's (run it under both).

`python mro_probe.py [MODULE ...]` imports the modules, then also checks every class reachable
from `object.__subclasses__()` against C3 computed here from `__bases__` ("mismatches" must
be empty; "checked" says how many classes were compared).
"""

import abc
import importlib
import json
import sys


def names(cls):
    return [k.__name__ for k in cls.__mro__]


def reference_c3(cls):
    """C3 as the Python documentation describes it, over the bases' own MROs."""
    sequences = [list(b.__mro__) for b in cls.__bases__] + [list(cls.__bases__)]
    out = [cls]
    while True:
        sequences = [s for s in sequences if s]
        if not sequences:
            return out
        for seq in sequences:
            head = seq[0]
            if not any(head in s[1:] for s in sequences):
                break
        else:
            return None
        out.append(head)
        for s in sequences:
            if s[0] is head:
                del s[0]


def all_classes():
    seen, stack = set(), [object]
    while stack:
        cls = stack.pop()
        try:
            subs = type.__subclasses__(cls)
        except TypeError:
            continue
        for sub in subs:
            if id(sub) not in seen:
                seen.add(id(sub))
                stack.append(sub)
                yield sub


def cases():
    out = {}

    class UI:
        def who(self):
            return "UI"

        def __eq__(self, other):
            return "UI.__eq__"

    class ALR:
        def who(self):
            return "ALR"

        def __eq__(self, other):
            return "ALR.__eq__"

    class T(UI):
        pass

    class C(T, ALR, UI):
        pass

    out["silent"] = names(C)
    out["silent_method"] = C().who()
    out["silent_slot"] = C() == C()
    out["silent_type_is_type"] = type(C) is type

    class J(ALR, UI):
        pass

    class F(C, J):
        pass

    out["loud"] = names(F)

    # The same shapes made with type(), and with a metaclass (ABCMeta asks mro()).
    C2 = type("C2", (T, ALR, UI), {})
    out["type_call"] = names(C2)

    class AUI(abc.ABC):
        pass

    class AALR(abc.ABC):
        pass

    class AT(AUI):
        pass

    class AC(AT, AALR, AUI):
        pass

    out["abc"] = names(AC)
    out["mro_method"] = [k.__name__ for k in C.mro()]

    # __init_subclass__ runs while the class is created: its super() chain must follow C3.
    seen = []

    class Base:
        def __init_subclass__(cls, **kw):
            seen.append("Base")
            super().__init_subclass__(**kw)

    class Left(Base):
        def __init_subclass__(cls, **kw):
            seen.append("Left")
            super().__init_subclass__(**kw)

    class Right(Base):
        def __init_subclass__(cls, **kw):
            seen.append("Right")
            super().__init_subclass__(**kw)

    class Mid(Left):
        pass

    del seen[:]

    class Child(Mid, Right, Left):
        pass

    out["init_subclass_chain"] = list(seen)
    out["init_subclass_mro"] = names(Child)

    # Still refused, with CPython's error, when there really is no consistent order.
    class X:
        pass

    class Y(X):
        pass

    try:

        class Bad(X, Y):
            pass

        out["inconsistent"] = "accepted"
    except TypeError as exc:
        out["inconsistent"] = "TypeError" if "consistent method resolution" in str(exc) else str(exc)
    return out


def main():
    for name in sys.argv[1:]:
        importlib.import_module(name)
    result = {"cases": cases()}
    mismatches, checked = [], 0
    for cls in all_classes():
        if type(cls).mro is not type.mro:
            continue  # a metaclass with its own mro()
        expected = reference_c3(cls)
        if expected is None:
            continue
        checked += 1
        if list(cls.__mro__) != expected:
            mismatches.append("%s.%s" % (cls.__module__, cls.__qualname__))
    result["checked"] = checked
    result["mismatches"] = sorted(mismatches)
    print(json.dumps(result))


main()
