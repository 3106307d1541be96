"""A webhook receiver for Tessera's tests: checks every delivery's signature with the Standard Webhooks reference
library (`standardwebhooks` from PyPI, not Tessera's code), records it as a JSON line, and answers as told.

    webhook_receiver.py PORT_FILE SECRET_FILE LOG_FILE FAIL_FIRST

- Listens on 127.0.0.1 at a free port, written to PORT_FILE once listening.
- SECRET_FILE holds the endpoint's `whsec_...` secret (read at each request, so the test can write it after adding
  the endpoint, or change it to see deliveries refused).
- Answers a 5xx to the first FAIL_FIRST attempts of each message (500, 501, 502, 503, then 500 again: an attempt's
  answer differs from the one before, so a test can tell which attempt Tessera has recorded), then 204; 400 when
  the signature does not verify;
  `POST /redirect` answers 302 (Tessera must not follow it).
"""

import http.server
import json
import os
import sys
import threading

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

port_file, secret_file, log_file, fail_first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
attempts = {}
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        entry = {
            "path": self.path,
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "user_agent": headers.get("user-agent"),
            "body": body.decode("utf-8", "replace"),
        }
        try:
            with open(secret_file) as f:
                secret = f.read().strip()
            payload = Webhook(secret).verify(body, headers)
            entry["verified"] = True
            entry["type"] = payload.get("type")
        except (OSError, WebhookVerificationError, ValueError) as err:
            entry["verified"] = False
            entry["error"] = str(err)
        with lock:
            attempts[entry["id"]] = attempts.get(entry["id"], 0) + 1
            entry["attempt"] = attempts[entry["id"]]
        if self.path == "/redirect":
            status = 302
        elif not entry["verified"]:
            status = 400
        elif entry["attempt"] <= fail_first:
            status = 500 + (entry["attempt"] - 1) % 4
        else:
            status = 204
        entry["answered"] = status
        with lock, open(log_file, "a") as log:
            log.write(json.dumps(entry) + "\n")
        self.send_response(status)
        if status == 302:
            self.send_header("location", "/elsewhere")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(port_file + ".tmp", port_file)
server.serve_forever()
