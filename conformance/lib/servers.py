"""Servers under test: command templates, the reference servers' venv, starting and stopping.

A target is a command template. Placeholders (see README "Command templates"):
  {host} {port} {bind}            where to listen (127.0.0.1, a free port)
  {app}                           rwsgi-style APP: /abs/file.py, /abs/file.py:callable or
                                  package.module:callable
  {app_file} {app_dir}            the app file and its folder ('' for a module APP)
  {module} {callable}             the same APP as module:callable, for module-based servers
  {callable_flag}                 a callable given apart from APP (rwsgi --callable), else ''
  {mount}                         URL prefix to serve the app under, else ''
  {pythonpath}                    LIST: the extra import dirs, one token each
  {sys_path} {sys_path_comma}     app dir + extra dirs, joined by os.pathsep / by ','
  {settings}                      LIST: arguments for the gunicorn-corpus settings of a case
  {rwsgi_bin} {venv} {repo}       paths
A token holding a LIST placeholder is repeated once per item (dropped for none). A token whose
placeholders all expand to '' is dropped, so optional flags are written as `--flag={x}`.
"""

import os
import shlex
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

CONFORMANCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(CONFORMANCE)
APPS = os.path.join(CONFORMANCE, "apps")
VENV = os.path.join(CONFORMANCE, ".venv")
# Reference servers, pinned so that their columns are reproducible.
REFERENCE_PACKAGES = ["gunicorn==27.0.1", "waitress==3.0.2"]
STARTUP_TIMEOUT = 20.0
LIST_FIELDS = ("pythonpath", "settings")

TEMPLATES = {
    "rwsgi": "{rwsgi_bin} run {app} --bind {bind} --workers 1 --callable={callable_flag} "
             "--mount={mount} --pythonpath={pythonpath} {settings}",
    # gthread: gunicorn's default sync worker has no keep-alive at all.
    "gunicorn": "env SCRIPT_NAME={mount} {venv}/bin/gunicorn --bind {bind} --workers 1 "
                "--worker-class gthread --threads 4 --graceful-timeout 1 --log-level warning "
                "--pythonpath {sys_path_comma} {settings} {module}:{callable}",
    "waitress": "env PYTHONPATH={sys_path} {venv}/bin/waitress-serve --listen={bind} --threads=4 "
                "--url-prefix={mount} {module}:{callable}",
}


def _flag(option):
    return lambda value: [option] if value else []


def _valued(option):
    return lambda value: ["%s=%s" % (option, show(value))]


def show(value):
    return ",".join(value) if isinstance(value, (list, tuple)) else str(value)


# gunicorn-corpus settings each target can express. A setting missing here makes the case
# "n/a: needs gunicorn setting ..." for that target. rwsgi has none of these options yet: add
# them here when it does.
SETTINGS = {
    "gunicorn": {
        "limit_request_line": _valued("--limit-request-line"),
        "limit_request_fields": _valued("--limit-request-fields"),
        "limit_request_field_size": _valued("--limit-request-field_size"),
        "permit_obsolete_folding": _flag("--permit-obsolete-folding"),
        "strip_header_spaces": _flag("--strip-header-spaces"),
        "permit_unconventional_http_method": _flag("--permit-unconventional-http-method"),
        "casefold_http_method": _flag("--casefold-http-method"),
        "header_map": _valued("--header-map"),
        "proxy_protocol": _valued("--proxy-protocol"),
        "forwarded_allow_ips": _valued("--forwarded-allow-ips"),
    },
    "waitress": {},
    # rwsgi's options of the same meaning (0 means "no limit" for the size limits, as in
    # gunicorn).
    "rwsgi": {
        "limit_request_line": _valued("--limit-request-line"),
        "limit_request_fields": _valued("--limit-request-fields"),
        "limit_request_field_size": _valued("--limit-request-field-size"),
        "forwarded_allow_ips": _valued("--forwarded-allow-ips"),
        "proxy_protocol": _flag("--proxy-protocol"),
    },
}


# Behaviour a built-in reference server has no equivalent for: cases needing it are n/a there.
LACKS = {
    "gunicorn": {"mount_404": "gunicorn's SCRIPT_NAME mount has no 404 outside the prefix"},
    "waitress": {"mount_404": "waitress's --url-prefix has no 404 outside the prefix"},
    "rwsgi": {"connect": "rwsgi answers CONNECT with 405 itself: a WSGI app cannot open a "
                         "tunnel, and hyper treats a 2xx to CONNECT as a protocol switch"},
}


@dataclass(frozen=True)
class AppConfig:
    """How the server is started for a group of cases."""
    app: str = os.path.join(APPS, "fixtures.py")
    callable_flag: str = ""
    mount: str = ""
    pythonpath: tuple = ()
    settings: tuple = ()  # sorted (name, value) pairs from the gunicorn corpus

    def parts(self):
        """(app_file, module, callable_in_spec) of the rwsgi-style APP string."""
        spec, sep, name = self.app.rpartition(":")
        if not sep or "/" in name:
            spec, name = self.app, ""
        if spec.endswith(".py"):
            return spec, os.path.splitext(os.path.basename(spec))[0], name
        return "", spec, name

    @property
    def needs(self):
        """Template features this config relies on."""
        app_file, _, callable_in_spec = self.parts()
        needs = set()
        if self.mount:
            needs.add("mount")
        if self.pythonpath:
            needs.add("pythonpath")
        if not app_file:
            needs.add("module_app")
        if self.callable_flag or callable_in_spec:
            needs.add("callable")
        return needs

    def placeholders(self):
        app_file, module, callable_in_spec = self.parts()
        app_dir = os.path.dirname(app_file)
        dirs = ([app_dir] if app_dir else []) + list(self.pythonpath)
        return {
            "app": self.app,
            "app_file": app_file,
            "app_dir": app_dir,
            "module": module,
            "callable": callable_in_spec or self.callable_flag or "application",
            "callable_flag": self.callable_flag,
            "mount": self.mount,
            "pythonpath": list(self.pythonpath),
            "sys_path": os.pathsep.join(dirs),
            "sys_path_comma": ",".join(dirs),
        }


FEATURE_FIELDS = {
    "mount": ("mount",),
    "pythonpath": ("pythonpath", "sys_path", "sys_path_comma"),
    "module_app": ("app", "module"),
    "callable": ("app", "callable", "callable_flag"),
}


@dataclass
class Target:
    name: str
    template: str
    settings: dict = field(default_factory=dict)
    builtin: bool = False
    lacks: dict = field(default_factory=dict)

    def fields(self):
        return {f for _, f, _, _ in string.Formatter().parse(self.template) if f}

    def unsupported(self, config, needs=()):
        """Why this target cannot run a config (or a case needing `needs`), or None."""
        for need in needs:
            if need in self.lacks:
                return self.lacks[need]
        fields = self.fields()
        for need in sorted(config.needs):
            if not fields & set(FEATURE_FIELDS[need]):
                return "the command template has no %s placeholder" % (
                    " or ".join("{%s}" % f for f in FEATURE_FIELDS[need]))
        missing = [k for k, _ in config.settings if k not in self.settings]
        if missing:
            return "needs gunicorn setting %s" % ", ".join(
                "%s=%s" % (k, show(v)) for k, v in config.settings if k in missing)
        return None

    def argv(self, config, port):
        values = dict(config.placeholders())
        values.update({
            "host": "127.0.0.1", "port": str(port), "bind": "127.0.0.1:%d" % port,
            "rwsgi_bin": rwsgi_binary(), "venv": VENV, "repo": REPO,
        })
        values["settings"] = [arg for k, v in config.settings for arg in self.settings[k](v)]
        argv = []
        for token in shlex.split(self.template):
            names = [f for _, f, _, _ in string.Formatter().parse(token) if f]
            unknown = [n for n in names if n not in values]
            if unknown:
                raise SetupError("unknown placeholder {%s} in template %r" % (unknown[0],
                                                                               self.template))
            lists = [n for n in names if n in LIST_FIELDS]
            if lists:
                for item in values[lists[0]]:
                    argv.append(token.format(**dict(values, **{lists[0]: item})))
                continue
            if names and all(values[n] == "" for n in names):
                continue
            argv.append(token.format(**values))
        return argv


class SetupError(Exception):
    """The run cannot start (missing binary, bad template, venv failure)."""


def rwsgi_binary():
    """RWSGI_BIN (relative to the caller's working directory), or the debug build in
    $CARGO_TARGET_DIR (default target/) for the target .cargo/config.toml sets."""
    if os.environ.get("RWSGI_BIN"):
        return os.path.abspath(os.environ["RWSGI_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    return os.path.join(target, "x86_64-unknown-linux-gnu", "debug", "rwsgi")


def check_rwsgi():
    path = rwsgi_binary()
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise SetupError(
            "rwsgi binary not found at %s.\n"
            "Build it first (cargo build --ignore-rust-version, from %s) or point RWSGI_BIN "
            "at an rwsgi executable." % (path, REPO))


def ensure_venv(log=print):
    """Create conformance/.venv with the pinned reference servers, once."""
    python = os.path.join(VENV, "bin", "python")
    if all(os.path.exists(os.path.join(VENV, "bin", exe)) for exe in ("gunicorn",
                                                                        "waitress-serve")):
        return
    log("conformance: installing %s into %s" % (" ".join(REFERENCE_PACKAGES), VENV))
    try:
        if not os.path.exists(python):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
                       + REFERENCE_PACKAGES, check=True, timeout=600)
    except (subprocess.SubprocessError, OSError) as exc:
        raise SetupError("could not set up %s: %s" % (VENV, exc)) from exc


def builtin_target(name):
    return Target(name, TEMPLATES[name], SETTINGS.get(name, {}), builtin=True,
                  lacks=LACKS.get(name, {}))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running server process (its own process group), its log and its state dir."""

    def __init__(self, target, config):
        self.target = target
        self.config = config
        self.proc = None
        self.port = None
        self.workdir = tempfile.mkdtemp(prefix="conformance-%s-" % target.name)
        self.state_dir = os.path.join(self.workdir, "state")
        self.log_path = os.path.join(self.workdir, "server.log")
        self.argv = []

    def start(self):
        """Start and wait until the port accepts connections; raises SetupError with the
        log tail when it does not."""
        os.makedirs(self.state_dir, exist_ok=True)
        self.port = free_port()
        self.argv = self.target.argv(self.config, self.port)
        env = dict(os.environ, CONFORMANCE_STATE_DIR=self.state_dir, PYTHONDONTWRITEBYTECODE="1")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        except OSError as exc:
            raise SetupError("cannot run %s: %s" % (self.argv[0], exc)) from exc
        finally:
            log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SetupError("server exited with %s before listening: %s"
                                 % (self.proc.returncode, self.log_tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SetupError("server did not listen on port %d within %.0f s: %s"
                         % (self.port, STARTUP_TIMEOUT, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        pgid = self.proc.pid  # the server leads its own process group (start_new_session)
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
        try:  # workers left behind by a master that died or hung
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def cleanup(self):
        """Remove the log and state dir (kept with CONFORMANCE_KEEP_LOGS=1)."""
        if os.environ.get("CONFORMANCE_KEEP_LOGS"):
            return
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines=8):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "(empty log)"
