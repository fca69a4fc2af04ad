"""Server command line: mount prefix, callable choice, APP forms, import paths.

rwsgi: `rwsgi run APP [--mount P] [--callable N] [--pythonpath D]`. Reference servers get the
same configuration through their own mechanisms (module:callable, --pythonpath or PYTHONPATH,
SCRIPT_NAME / --url-prefix); a template without the needed placeholder makes the case n/a.
"""

import os

from lib.casekit import Fail, case, eq, expect_status, json_body
from lib.servers import APPS, AppConfig

MOUNT = "/mnt/sub"
MOUNTED = AppConfig(mount=MOUNT)
CLI_APP = os.path.join(APPS, "cli", "cli_app.py")
DEFAULT_CALLABLE = AppConfig(app=CLI_APP)
CALLABLE_FLAG = AppConfig(app=CLI_APP, callable_flag="custom_app")
CALLABLE_IN_SPEC = AppConfig(app=CLI_APP + ":custom_app")
MODULE_SPEC = AppConfig(app="cli_pkg.entry:app", pythonpath=(os.path.join(APPS, "cli_pkgroot"),))
PYTHONPATH = AppConfig(app=os.path.join(APPS, "cli", "needs_extra.py"),
                       pythonpath=(os.path.join(APPS, "cli_extra"),))
MOUNT_SPEC = "rwsgi --mount (mod_wsgi WSGIScriptAlias); " + \
    'PEP 3333 "environ Variables" (SCRIPT_NAME, PATH_INFO)'


def mounted_environ(ctx, target):
    resp, _ = ctx.fetch("environ", target)
    env = json_body(resp)["environ"]
    return (env.get("SCRIPT_NAME", {}).get("value", ""),
            env.get("PATH_INFO", {}).get("value", ""))


@case("cli.mount.under_prefix", MOUNT_SPEC, MOUNTED)
def mount_under(ctx):
    eq(mounted_environ(ctx, MOUNT + "/x/y?q=1"), (MOUNT, "/x/y"), "(SCRIPT_NAME, PATH_INFO)")


@case("cli.mount.prefix_alone", MOUNT_SPEC, MOUNTED)
def mount_exact(ctx):
    eq(mounted_environ(ctx, MOUNT), (MOUNT, ""), "(SCRIPT_NAME, PATH_INFO)")


@case("cli.mount.prefix_slash", MOUNT_SPEC, MOUNTED)
def mount_slash(ctx):
    eq(mounted_environ(ctx, MOUNT + "/"), (MOUNT, "/"), "(SCRIPT_NAME, PATH_INFO)")


def outside(ctx, target):
    resp, _ = ctx.fetch("environ", target)
    expect_status(resp, 404, "request outside the mount")
    called = ctx.calls()
    if called:
        raise Fail("the app was called for %s: %r" % (target, called[0]))


@case("cli.mount.outside_prefix", MOUNT_SPEC + " (outside -> 404)", MOUNTED, needs=["mount_404"])
def mount_outside(ctx):
    outside(ctx, "/other/path")


@case("cli.mount.partial_segment", MOUNT_SPEC + " (prefix matches whole segments)", MOUNTED,
      needs=["mount_404"])
def mount_partial(ctx):
    outside(ctx, MOUNT + "way/x")


def callable_answer(ctx):
    resp = ctx.exchange(ctx.request("GET", "/cli"))
    return json_body(resp)


@case("cli.default_callable", "rwsgi run path/file.py (callable 'application')",
      DEFAULT_CALLABLE)
def default_callable(ctx):
    eq(callable_answer(ctx)["callable"], "application", "callable that answered")


@case("cli.app_dir_on_sys_path", "rwsgi run path/file.py (the file's folder is on sys.path)",
      DEFAULT_CALLABLE)
def app_dir_on_path(ctx):
    eq(callable_answer(ctx)["sibling"], "sibling imported", "sibling import")


@case("cli.callable_flag", "rwsgi run path/file.py --callable NAME", CALLABLE_FLAG)
def callable_flag(ctx):
    eq(callable_answer(ctx)["callable"], "custom_app", "callable that answered")


@case("cli.callable_in_app_spec", "rwsgi run path/file.py:NAME", CALLABLE_IN_SPEC)
def callable_in_spec(ctx):
    eq(callable_answer(ctx)["callable"], "custom_app", "callable that answered")


@case("cli.module_app_spec", "rwsgi run package.module:callable --pythonpath DIR", MODULE_SPEC)
def module_spec(ctx):
    eq(callable_answer(ctx)["callable"], "cli_pkg.entry:app", "callable that answered")


@case("cli.pythonpath", "rwsgi run --pythonpath DIR", PYTHONPATH)
def pythonpath(ctx):
    eq(callable_answer(ctx)["helper"], "extra helper imported", "import from --pythonpath")
