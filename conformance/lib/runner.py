"""Command line, execution of every case against every selected server, the result table."""

import argparse
import dataclasses
import importlib
import json
import sys
import time
import traceback

from . import casekit, corpus, servers
from .casekit import Ctx, Fail, NotApplicable, describe_exc
from .servers import Server, SetupError, Target
from .wire import NoResponse, Timeout

BUILTIN = ("rwsgi", "gunicorn", "waitress")
CASE_MODULES = ("suite", "environ", "wsgi_input", "response", "framing", "nonascii",
                "misbehave", "cli")
REASON_WIDTH = 400


@dataclasses.dataclass
class Outcome:
    status: str  # pass | fail | n/a
    reason: str = ""


def load_cases():
    # Importing a case module registers its cases, in file order; the table keeps this order.
    for name in CASE_MODULES:
        importlib.import_module("cases." + name)
    corpus.register()
    return list(casekit.REGISTRY)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="conformance/run",
        description="PEP 3333 / HTTP/1.1 conformance suite for WSGI servers.")
    p.add_argument("--server", action="append", metavar="NAME",
                   help="rwsgi, gunicorn, waitress or custom (repeatable or comma-separated; "
                        "default: all three built-ins)")
    p.add_argument("--cmd", help="command template for --server custom (see README)")
    p.add_argument("--name", default="custom", help="column name for the custom server")
    p.add_argument("-k", "--filter", action="append", default=[], metavar="TEXT",
                   help="run only cases whose id contains TEXT (repeatable)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="progress per case, full reasons, server command lines")
    return p.parse_args(argv)


def select_targets(args):
    names = [n.strip() for item in (args.server or list(BUILTIN)) for n in item.split(",")
             if n.strip()]
    targets = []
    for name in names:
        if name == "custom" or (args.cmd and name not in BUILTIN):
            if not args.cmd:
                raise SetupError("--server custom needs --cmd 'TEMPLATE'")
            targets.append(Target(args.name if name == "custom" else name, args.cmd))
        elif name in BUILTIN:
            targets.append(servers.builtin_target(name))
        else:
            raise SetupError("unknown server %r (built-in: %s, or custom with --cmd)"
                             % (name, ", ".join(BUILTIN)))
    return targets


def plan(target, cases):
    """[(run_config, [(case, n/a reason or None)])], grouped so each config starts once.
    A corpus case needing a gunicorn setting the target lacks still runs without it; its
    result is then reported as n/a with what happened."""
    groups, skipped = {}, []
    for c in cases:
        reason = target.unsupported(c.config, c.needs)
        if not reason:
            groups.setdefault(c.config, []).append((c, None))
            continue
        bare = dataclasses.replace(c.config, settings=())
        if c.config.settings and not target.unsupported(bare, c.needs):
            groups.setdefault(bare, []).append((c, reason))
        else:
            skipped.append((c, reason))
    return list(groups.items()), skipped


def run_case(server, c, log):
    ctx = Ctx(server)
    ctx.state.clear("calls", "validator", "notes", "close")
    try:
        c.check(ctx)
        outcome = Outcome("pass")
    except Fail as exc:
        outcome = Outcome("fail", str(exc))
    except NotApplicable as exc:
        outcome = Outcome("n/a", str(exc))
    except (Timeout, NoResponse, OSError) as exc:
        outcome = Outcome("fail", describe_exc(exc))
    except Exception as exc:  # a bug in the suite itself: say so, keep going
        outcome = Outcome("fail", "runner error: %s: %s" % (type(exc).__name__, exc))
        log(traceback.format_exc())
    issues = ctx.state.entries("validator", ctx.tokens + ["notoken"])
    if issues:
        message = (issues[0][1] or {}).get("message", "?")
        outcome = Outcome("fail", "wsgiref.validate: %s%s" % (
            message, "; " + outcome.reason if outcome.reason else ""))
    return outcome


def run_target(target, cases, log, verbose):
    results = {}
    groups, skipped = plan(target, cases)
    for c, reason in skipped:
        results[c.id] = Outcome("n/a", reason)
    for config, members in groups:
        server = Server(target, config)
        try:
            server.start()
            if verbose:
                log("%s: started %s (log: %s)" % (target.name, " ".join(server.argv),
                                                 server.log_path))
        except SetupError as exc:
            for c, na in members:
                results[c.id] = Outcome("fail", "server failed to start: %s" % exc)
            server.stop()
            server.cleanup()
            continue
        try:
            for c, na in members:
                started = time.monotonic()
                outcome = run_case(server, c, log)
                if not server.alive():
                    code = server.proc.returncode if server.proc else "?"
                    outcome = Outcome("fail", ("%s; " % outcome.reason if outcome.reason else "")
                                      + "server exited (%s): %s" % (code, server.log_tail(3)))
                    server.stop()
                    try:
                        server.start()
                    except SetupError as exc:
                        log("%s: restart failed: %s" % (target.name, exc))
                if na:
                    observed = outcome.status + (": " + outcome.reason if outcome.reason else "")
                    outcome = Outcome("n/a", "%s (run without it: %s)" % (na, observed))
                results[c.id] = outcome
                if verbose:
                    log("%-8s %-5s %5.2fs %s %s" % (target.name, outcome.status,
                                                    time.monotonic() - started, c.id,
                                                    outcome.reason[:200]))
        finally:
            server.stop()
            server.cleanup()
    return results


def render(cases, names, results, verbose):
    width = max(len(c.id) for c in cases)
    spec_width = min(48, max(len(c.spec) for c in cases))
    cols = [max(6, len(n)) for n in names]
    lines = ["%-*s  %-*s  %s" % (width, "case", spec_width, "spec",
                                 "  ".join("%-*s" % (w, n) for w, n in zip(cols, names)))]
    lines.append("-" * len(lines[0]))
    for c in cases:
        row = [results[n].get(c.id, Outcome("n/a", "not run")) for n in names]
        cells = ["%-*s" % (w, {"fail": "FAIL"}.get(o.status, o.status)) for w, o in zip(cols, row)]
        spec = c.spec if len(c.spec) <= spec_width else c.spec[:spec_width - 3] + "..."
        lines.append(("%-*s  %-*s  %s" % (width, c.id, spec_width, spec, "  ".join(cells))).rstrip())
        for n, o in zip(names, row):
            if o.status != "pass" and o.reason:
                reason = o.reason if verbose or len(o.reason) <= REASON_WIDTH \
                    else o.reason[:REASON_WIDTH] + "..."
                lines.append("    %s %s: %s" % (n, o.status, reason))
    return "\n".join(lines)


def main(argv):
    args = parse_args(argv)
    log = (lambda msg: print(msg, file=sys.stderr, flush=True))
    cases = load_cases()
    if args.filter:
        cases = [c for c in cases if any(f in c.id for f in args.filter)]
    if args.list:
        for c in cases:
            print("%-50s %s" % (c.id, c.spec))
            if args.verbose and c.doc:
                print("    " + " ".join(c.doc.split()))
        return 0
    if not cases:
        log("conformance: no case matches %s" % args.filter)
        return 2
    try:
        targets = select_targets(args)
    except SetupError as exc:
        log("conformance: %s" % exc)
        return 2
    exit_code = 0
    if any(t.name == "rwsgi" and t.builtin for t in targets):
        try:
            servers.check_rwsgi()
        except SetupError as exc:
            log("conformance: error: %s" % exc)
            if len(targets) == 1:
                return 2
            log("conformance: running the other servers; the run still fails.")
            targets = [t for t in targets if t.name != "rwsgi"]
            exit_code = 2
    if any(t.builtin and t.name in ("gunicorn", "waitress") for t in targets):
        try:
            servers.ensure_venv(log)
        except SetupError as exc:
            log("conformance: error: %s" % exc)
            return 2
    results = {}
    for target in targets:
        started = time.monotonic()
        log("conformance: %s: %d cases" % (target.name, len(cases)))
        try:
            results[target.name] = run_target(target, cases, log, args.verbose)
        except SetupError as exc:
            log("conformance: %s: %s" % (target.name, exc))
            return 2
        counts = summary(results[target.name])
        log("conformance: %s: %d passed, %d failed, %d n/a in %.0f s" % (
            target.name, counts["pass"], counts["fail"], counts["n/a"],
            time.monotonic() - started))
    names = [t.name for t in targets]
    print(render(cases, names, results, args.verbose))
    print()
    for name in names:
        counts = summary(results[name])
        print("%s: %d passed, %d failed, %d n/a" % (name, counts["pass"], counts["fail"],
                                                    counts["n/a"]))
    primary = "rwsgi" if "rwsgi" in names else names[0]
    counts = summary(results[primary])
    print("(the closing line counts %s)" % primary)
    print("%d passed, %d failed" % (counts["pass"], counts["fail"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({name: {cid: dataclasses.asdict(o) for cid, o in res.items()}
                       for name, res in results.items()}, f, indent=1, sort_keys=True)
    if counts["fail"]:
        exit_code = exit_code or 1
    return exit_code


def summary(results):
    counts = {"pass": 0, "fail": 0, "n/a": 0}
    for outcome in results.values():
        counts[outcome.status] += 1
    return counts
