"""gunicorn configuration: the production command, the benchmark and the test servers use it.

    gunicorn -c nuvlyx/gunicorn_conf.py nuvlyx.wsgi:application --bind ... --workers ...

Errors gunicorn answers itself, before Django sees the request (a request line over
`limit_request_line` → 414, headers over `limit_request_fields` / `limit_request_field_size` → 431,
a malformed request line or header → 400, an unsupported transfer coding → 501), get the API's
JSON error body instead of gunicorn's HTML page. Command-line flags still override what is here.
"""

from http import HTTPStatus
from pathlib import Path

import environ
import orjson
from gunicorn import util

# Forwarded scheme headers: Django alone decides whether a request came over HTTPS
# (SECURE_PROXY_SSL_HEADER, set only with TRUSTED_PROXY=true; nuvlyx/settings.py). gunicorn's own
# defaults would believe X-Forwarded-Proto / X-Forwarded-Ssl / X-Forwarded-Protocol from 127.0.0.1
# and mark the request https before Django looks: a plain-HTTP request carrying the header would
# skip the SSL redirect. TRUSTED_PROXY is read as settings.py reads it (environment, then .env).
_env = environ.Env()
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)
if _env.bool("TRUSTED_PROXY", default=False):
    # only the header Django believes, so the two never disagree (proxy IPs: FORWARDED_ALLOW_IPS)
    secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
else:
    secure_scheme_headers = {}
    forwarded_allow_ips = ""  # no peer may set forwarded headers

# Defaults spelled out: these are the limits behind the 414 / 431 answers.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# The contract's codes: a request gunicorn refuses broke a request-level rule (`bad_request`, the
# status says which); 403 is a refused proxy / TLS request; 5xx are ours.
_CODES = {403: "forbidden"}


def error_response(status_int: int, reason: str) -> bytes:
    """The full HTTP response gunicorn writes for a request it refuses itself (contract body)."""
    try:
        phrase = HTTPStatus(status_int).phrase
    except ValueError:
        phrase = reason
    # The message is the reason phrase only: gunicorn's own message echoes the offending input.
    body = orjson.dumps(
        {
            "statusCode": status_int,
            "message": phrase,
            "error": phrase,
            "code": _CODES.get(status_int, "internal_error" if status_int >= 500 else "bad_request"),
        }
    )
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Cache-Control: no-store\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock, status_int, reason, mesg):
    util.write_nonblock(sock, error_response(int(status_int), reason))


# gunicorn's workers call util.write_error at request time; the workers are forked from the
# master that read this file, so they all answer in JSON.
util.write_error = write_json_error
