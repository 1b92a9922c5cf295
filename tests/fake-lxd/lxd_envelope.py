# SPDX-License-Identifier: LGPL-2.1-or-later
"""What both fake LXDs (fake-lxd.py, hostile-lxd.py) answer with: LXD's
JSON envelopes over HTTP/1.1, as the real one writes them."""

import json
from http.server import BaseHTTPRequestHandler


class EnvelopeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, envelope, headers=None):
        body = json.dumps(envelope).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def sync(self, metadata, headers=None):
        self.reply(200, {"type": "sync", "status": "Success", "status_code": 200,
                         "error_code": 0, "error": "", "metadata": metadata},
                   headers)

    def error(self, code, text):
        self.reply(code, {"type": "error", "status": "", "status_code": 0,
                          "error_code": code, "error": text, "metadata": None})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"null") if n else None
