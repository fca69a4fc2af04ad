"""The training run of the profile-guided build (deploy/build-pgo): run by the instrumented
rwsgi itself (`rwsgi python deploy/pgo_train.py --bin RWSGI`), so it needs no other Python.

It serves the workloads the release binary is for, each through a real `rwsgi run` on
127.0.0.1 with two workers, and sends each a bounded number of requests from a few client
threads: plain WSGI (hello over keep-alive and with a connection per request, a 1 KiB POST
echo, a streamed 1 MiB response, --static files) and framework pages (Flask: hello, jsonify,
a Jinja2 page; Django: a JsonResponse and an ORM query through a template). The servers stop
on SIGTERM, so every process exits normally and writes its profile. The client side runs on
the instrumented interpreter too, which only adds weight to the interpreter's general paths.

The framework workloads need Flask and Django in the --vendor folder (default bench/.vendor,
where bench/run puts them; deploy/build-pgo fetches them with `rwsgi pip` when missing);
without them they are skipped with a line saying so.
"""

import argparse
import http.client
import os
import shutil
import ssl
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_APPS = os.path.join(ROOT, "bench", "apps")
VENDOR = os.path.join(ROOT, "bench", ".vendor")
# Every wait and every load loop is bounded.
START_LIMIT_S = 60.0
WORKLOAD_LIMIT_S = 120.0
CLIENTS = 4


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(port, proc):
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"pgo_train: the server exited early (status {proc.returncode})")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"pgo_train: nothing listened on {HOST}:{port} in {START_LIMIT_S} s")


def client(port, requests, count, deadline, errors, tls):
    """Sends `requests` (method, path, body, close) round-robin, `count` in all."""
    conn = None
    for i in range(count):
        if time.monotonic() > deadline:
            return
        method, path, body, close = requests[i % len(requests)]
        headers = {"Connection": "close"} if close else {}
        try:
            if conn is None and tls is not None:
                conn = http.client.HTTPSConnection(HOST, port, timeout=30, context=tls)
            elif conn is None:
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status >= 500:
                errors.append(f"{method} {path}: {resp.status}")
            if close or resp.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{method} {path}: {exc!r}")
            conn = None
    if conn is not None:
        conn.close()


def workload(bin_path, name, app_args, requests, count, tls=None):
    port = free_port()
    argv = [bin_path, "run", *app_args, "--bind", f"{HOST}:{port}", "--workers", "2"]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        deadline = time.monotonic() + WORKLOAD_LIMIT_S
        errors = []
        threads = [
            threading.Thread(target=client, args=(port, requests, count // CLIENTS, deadline, errors, tls))
            for _ in range(CLIENTS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    took = time.monotonic() - started
    print(f"pgo_train: {name}: {count} requests in {took:.1f} s, {len(errors)} errors", flush=True)
    if errors:
        raise SystemExit(f"pgo_train: {name} failed: {errors[0]}")


def workload_tls(bin_path, hello, tmp, count):
    """HTTPS (rustls) with a self-signed certificate for 127.0.0.1 made by the openssl CLI."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    tls = ssl.create_default_context(cafile=cert)
    workload(bin_path, "hello over TLS", [hello, "--certfile", cert, "--keyfile", key],
             [("GET", "/", None, False), ("GET", "/", None, True)], count, tls=tls)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", required=True, help="the instrumented rwsgi")
    p.add_argument("--scale", type=float, default=1.0, help="multiplies every request count")
    p.add_argument("--vendor", default=VENDOR, help="where Flask and Django are installed")
    args = p.parse_args()

    def n(count):
        return max(CLIENTS, int(count * args.scale))

    hello = os.path.join(ROOT, "apps", "hello.py")
    workload(args.bin, "hello keep-alive", [hello],
             [("GET", "/", None, False), ("HEAD", "/?q=1", None, False)], n(20000))
    workload(args.bin, "hello close", [hello], [("GET", "/a/b?c=d", None, True)], n(2000))
    workload(args.bin, "post 1 KiB", [os.path.join(BENCH_APPS, "echo.py")],
             [("POST", "/", b"a" * 1024, False)], n(10000))
    workload(args.bin, "stream 1 MiB", [os.path.join(BENCH_APPS, "stream.py")],
             [("GET", "/", None, False)], n(400))
    with tempfile.TemporaryDirectory() as static:
        for size, name in ((512, "small.css"), (200 * 1024, "big.js")):
            with open(os.path.join(static, name), "wb") as f:
                f.write(b"x" * size)
        workload(args.bin, "static files", [hello, "--static", f"/static={static}"],
                 [("GET", "/static/small.css", None, False),
                  ("GET", "/static/big.js", None, False),
                  ("GET", "/static/missing", None, False)], n(3000))
        if shutil.which("openssl"):
            workload_tls(args.bin, hello, static, n(3000))
        else:
            print("pgo_train: no openssl CLI to make a certificate: TLS workload skipped",
                  flush=True)

    if not all(os.path.isdir(os.path.join(args.vendor, m)) for m in ("flask", "django")):
        print(f"pgo_train: no Flask or Django in {args.vendor}: framework workloads skipped "
              "(the profile then covers plain WSGI only)", flush=True)
        return
    vendor = ["--pythonpath", args.vendor]
    workload(args.bin, "flask", [os.path.join(BENCH_APPS, "flask_app.py"), *vendor],
             [("GET", "/", None, False), ("GET", "/json", None, False),
              ("GET", "/page", None, False), ("GET", "/page", None, False),
              ("GET", "/nosuch", None, False)], n(6000))
    workload(args.bin, "django", [os.path.join(BENCH_APPS, "django_app", "app.py"), *vendor],
             [("GET", "/json", None, False), ("GET", "/page", None, False)], n(800))


if __name__ == "__main__":
    sys.exit(main())
