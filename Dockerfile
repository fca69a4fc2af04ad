# rwsgi in an image with nothing else in it: FROM scratch holds the static binary and the app.
#
#   docker build -t hello .                                  # apps/hello.py
#   docker build -t guestbook --build-arg APP_DIR=apps/flask \
#       --build-arg APP=app.py:app --build-arg PYTHONPATH=vendor .
#   docker run -p 8000:8000 guestbook
#
# APP_DIR is copied to /app; APP and PYTHONPATH are relative to it (vendor pure-Python
# dependencies there first, e.g. `python3 apps/vendor.py flask`). Every `rwsgi run` option can be
# set with its RWSGI_* variable at `docker run -e` (e.g. RWSGI_WORKERS=4).
#
# `--target bundle` builds the other layout: one executable, made by `rwsgi bundle`, holding
# the server, the app and its dependencies.

FROM rust:1.95-bookworm AS build
# libffi-dev: the static libffi.a the static build links (.cargo/config.toml).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libffi-dev libexpat1-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --ignore-rust-version \
 && mkdir -p /out/tmp \
 && chmod 1777 /out/tmp \
 && cp target/x86_64-unknown-linux-gnu/release/rwsgi /out/rwsgi
ARG APP_DIR=apps
ARG APP=hello.py
ARG PYTHONPATH=.
RUN cp -r "$APP_DIR" /out/app \
 && find /out/app -name __pycache__ -prune -exec rm -rf {} + \
 && cd /out/app \
 && /out/rwsgi bundle "$APP" ${PYTHONPATH:+--pythonpath "$PYTHONPATH"} -o /out/bundle

FROM scratch AS bundle
COPY --from=build /out/bundle /app
# An empty, world-writable /tmp: tempfile and large uploads in Werkzeug and Django use it.
COPY --from=build /out/tmp /tmp
USER 65534:65534
ENV RWSGI_BIND=0.0.0.0:8000
EXPOSE 8000
ENTRYPOINT ["/app"]

FROM scratch AS plain
COPY --from=build /out/rwsgi /rwsgi
COPY --from=build /out/app /app
COPY --from=build /out/tmp /tmp
ARG APP=hello.py
ARG PYTHONPATH=.
WORKDIR /app
USER 65534:65534
ENV RWSGI_APP=${APP} RWSGI_PYTHONPATH=${PYTHONPATH} RWSGI_BIND=0.0.0.0:8000
EXPOSE 8000
# TERM (what docker stop and Kubernetes send) drains in-flight requests, within
# --graceful-timeout (30 s by default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/rwsgi", "run"]
