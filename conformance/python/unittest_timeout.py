"""Per-test timeout for unittest-based suites (Django's runtests.py, CPython's Lib/test).

    PY conformance/python/unittest_timeout.py SECONDS SCRIPT.py ARGS...
    PY conformance/python/unittest_timeout.py SECONDS -m MODULE ARGS...

Runs SCRIPT (or `-m MODULE`) as __main__ after wrapping unittest.TestCase.run so that a test
running longer than SECONDS gets a TestTimeout raised in it (SIGALRM, main thread), which
unittest reports as that test's error; the run goes on with the next test. The equivalent of
pytest-timeout's signal method. (A sitecustomize would be simpler, but rwsgi's interpreter
does not import sitecustomize.)
"""

import runpy
import signal
import sys
import unittest


class TestTimeout(BaseException):
    """A BaseException, so that the code under test (`except Exception:`) does not swallow it;
    unittest still reports it as the test's error."""


def install(seconds):
    original = unittest.TestCase.run

    def run(self, result=None):
        def on_alarm(signum, frame):
            raise TestTimeout("Timeout (>%ss) from the conformance harness" % seconds)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        if previous is None:
            # A handler installed outside Python (CPython answers None for it too), which
            # signal.signal() would refuse to put back.
            previous = signal.SIG_DFL
        # Fires again every 5 s in case the code under test swallows it anyway.
        signal.setitimer(signal.ITIMER_REAL, seconds, 5)
        try:
            return original(self, result)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    unittest.TestCase.run = run


def main():
    seconds = float(sys.argv[1])
    install(seconds)
    if sys.argv[2] == "-m":
        module = sys.argv[3]
        sys.argv = [module] + sys.argv[4:]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script = sys.argv[2]
        sys.argv = sys.argv[2:]
        sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(script)))
        runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
