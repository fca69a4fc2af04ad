"""pytest plugin loaded by conformance/python/run (`-p conformance_plugin`).

- Writes one JSON line per event to $CONFORMANCE_EVENTS as the run goes (flushed at once), so
  a run that is killed (wall-clock limit) or dies (crash, pytest-timeout's thread method)
  still says which test was running and which ones finished. junit XML is only written at
  the end of a session.
- Drops the tests whose node ids are listed in $CONFORMANCE_SKIP (one a line): the harness
  restarts a died run without the tests that already ran and the one that killed it.
"""

import json
import os

_events = None


def _emit(**record):
    global _events
    path = os.environ.get("CONFORMANCE_EVENTS")
    if not path:
        return
    if _events is None:
        _events = open(path, "a", encoding="utf-8")
    _events.write(json.dumps(record) + "\n")
    _events.flush()


def pytest_collection_modifyitems(session, config, items):
    path = os.environ.get("CONFORMANCE_SKIP")
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        skip = set(line.rstrip("\n") for line in f if line.strip())
    keep, drop = [], []
    for item in items:
        (drop if item.nodeid in skip else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_finish(session):
    _emit(e="collected", n=len(session.items))


def pytest_runtest_logstart(nodeid, location):
    _emit(e="start", id=nodeid)


def _message(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])
    lines = str(report.longrepr or "").strip().splitlines()
    return lines[-1] if lines else ""


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _emit(e="report", id=report.nodeid, when=report.when, outcome=report.outcome,
              xfail=hasattr(report, "wasxfail"), msg=_message(report) if report.outcome != "passed" else "")


def pytest_collectreport(report):
    if report.outcome == "failed":
        _emit(e="collecterror", id=report.nodeid, msg=_message(report))


def pytest_sessionfinish(session, exitstatus):
    global _events
    _emit(e="finish", status=int(exitstatus))
    if _events is not None:
        _events.close()
        _events = None
