"""Self-checks of the suite's own machinery, run first on every server."""

from lib.casekit import Fail, case

SELF = "suite self-check (wsgiref.validate runs in the server's interpreter)"


def validator_reports(ctx, variant, expected):
    resp, token = ctx.fetch("selftest", "/selftest?v=" + variant)
    found = ctx.state.entries("validator", [token])
    ctx.state.clear("validator")  # consumed here: this failure was the point
    if not found:
        raise Fail("wsgiref.validate %s went unreported (response %d): validator failures "
                   "would be missed on this server" % (variant, resp.status))
    message = (found[0][1] or {}).get("message", "")
    if expected not in message:
        raise Fail("unexpected validator report: %r" % message)


@case("suite.validator_assertion_reported", SELF)
def validator_assertion(ctx):
    validator_reports(ctx, "assertion", "No Content-Type header")


@case("suite.validator_warning_reported", SELF)
def validator_warning(ctx):
    validator_reports(ctx, "warning", "WSGIWarning")
