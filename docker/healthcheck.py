"""The web container's healthcheck: GET /healthz on the local gunicorn, exit 0 only on 200.

It sends the Host the app answers to (the first of DJANGO_ALLOWED_HOSTS) and says the
request came over HTTPS, as the reverse proxy would, so neither ALLOWED_HOSTS nor the
HTTPS redirect turns the probe into a 400 or a 301. Standard library only.
"""

import http.client
import os
import sys


def probe_host() -> str:
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "GET", "/healthz", headers={"Host": probe_host(), "X-Forwarded-Proto": "https"}
        )
        response = conn.getresponse()
        body = response.read(500).decode(errors="replace")
    except OSError as exc:
        print(f"healthz unreachable: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    print(response.status, body)
    return 0 if response.status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
