"""A plain WSGI app that talks to the services around it: Redis through redis-py, outbound
HTTPS through urllib.request and requests, and mail through smtplib. tests/services.rs runs
it against a real redis-server, a local TLS server with a CA made for the test, and an SMTP
sink.

    rwsgi run apps/services/app.py --pythonpath apps/services/vendor --workers 2

Settings from the environment: REDIS_URL (redis://127.0.0.1:6379/0), SMTP_HOST, SMTP_PORT.

Routes:
  POST /counter                 INCR a Redis counter; answers its new value and this worker's pid
  GET  /counter                 the counter's value
  PUT  /cache/KEY?ttl=SECONDS   SET KEY to the body with an expiry (EX)
  GET  /cache/KEY               the value and its TTL, or 404
  GET  /fetch?url=U&client=urllib|requests[&cafile=PATH]
                                fetch U over HTTPS, verified with cafile when given (else the
                                default trust store); 502 with the SSL error's class and text
  POST /mail?to=ADDR            send the body as a text/plain message (UTF-8 subject) by SMTP
"""

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import parse_qs

import redis
import requests

store = redis.Redis.from_url(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True
)


def answer(start_response, status, payload):
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def read_body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length)


def fetch(query):
    url, client = query["url"], query.get("client", "urllib")
    cafile = query.get("cafile")
    try:
        if client == "requests":
            reply = requests.get(url, verify=cafile or True, timeout=10)
            return "200 OK", {"status": reply.status_code, "body": reply.text}
        context = ssl.create_default_context(cafile=cafile)
        with urllib.request.urlopen(url, context=context, timeout=10) as reply:
            return "200 OK", {"status": reply.status, "body": reply.read().decode("utf-8")}
    except (ssl.SSLError, urllib.error.URLError, requests.exceptions.SSLError) as e:
        reason = getattr(e, "reason", e)
        return "502 Bad Gateway", {"error": type(e).__name__, "reason": str(reason)}


def mail(query, body):
    message = EmailMessage()
    message["From"] = "shop@example.test"
    message["To"] = query["to"]
    message["Subject"] = "Commande reçue ✓"
    message.set_content(body.decode("utf-8"))
    port = int(os.environ.get("SMTP_PORT", "25"))
    with smtplib.SMTP(os.environ.get("SMTP_HOST", "127.0.0.1"), port, timeout=10) as smtp:
        refused = smtp.send_message(message)
    return {"sent": True, "refused": sorted(refused)}


def application(environ, start_response):
    method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/counter" and method == "POST":
        return answer(start_response, "200 OK", {"value": store.incr("hits"), "pid": os.getpid()})
    if path == "/counter" and method == "GET":
        return answer(start_response, "200 OK", {"value": int(store.get("hits") or 0)})
    if path.startswith("/cache/"):
        key = "cache:" + path[len("/cache/") :]
        if method == "PUT":
            store.set(key, read_body(environ).decode("utf-8"), ex=int(query.get("ttl", "60")))
            return answer(start_response, "201 Created", {"key": key})
        value = store.get(key)
        if value is None:
            return answer(start_response, "404 Not Found", {"key": key})
        return answer(start_response, "200 OK", {"value": value, "ttl": store.ttl(key)})
    if path == "/fetch":
        status, payload = fetch(query)
        return answer(start_response, status, payload)
    if path == "/mail" and method == "POST":
        return answer(start_response, "200 OK", mail(query, read_body(environ)))
    return answer(start_response, "404 Not Found", {"error": "not found"})
