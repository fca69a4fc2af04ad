"""bjoern has no command line: `python bjoern_serve.py APP_FILE PORT WORKERS` imports the
`application` callable of APP_FILE (its directory first on sys.path), listens on
127.0.0.1:PORT and forks WORKERS-1 extra processes that share the socket (bjoern's own
pre-fork recipe: listen, fork, run)."""

import importlib
import os
import signal
import sys

import bjoern


def main():
    app_file, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    app_dir, name = os.path.split(os.path.abspath(app_file))
    sys.path.insert(0, app_dir)
    app = importlib.import_module(os.path.splitext(name)[0]).application
    bjoern.listen(app, "127.0.0.1", port)
    children = []
    for _ in range(workers - 1):
        pid = os.fork()
        if pid == 0:
            bjoern.run()
            os._exit(0)
        children.append(pid)

    def stop(signum, frame):
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    bjoern.run()


if __name__ == "__main__":
    main()
