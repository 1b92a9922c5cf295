#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hostile LXD on a unix socket: it misbehaves where a real LXD cannot be
made to on purpose, to show that devpassd's loop never waits on LXD.

    hostile-lxd.py SOCKET NAME...

NAME... are running containers. Otherwise it answers as LXD 5.0.2 does
where devpass depends on it (as tests/fake-lxd/fake-lxd.py, checked
against the LXD sources): the envelope, ETag/If-Match (412), PATCH merging
the devices map, PUT as an async operation waited for at
/1.0/operations/ID/wait, /1.0/events as a WebSocket. 5.0.2's extension set
(no device_usb_serial, pci_hotplug, device_patch_removal).

What it does wrong is set by the test, over the same socket:

    PUT /fake/hostile {"hang": ["PATCH /1.0/instances/c1", ...],
                       "events": "normal" | "refuse" | "close" | "hang",
                       "transient": N, "transient_op": N}

- hang: the next request whose "METHOD PATH" starts with each pattern
  gets no answer until PUT /fake/release (then the normal one): a GET, a
  PATCH, an operation wait ("GET /1.0/operations/") or the events
  handshake ("GET /1.0/events") that hangs;
- events: "refuse" answers the upgrade with an error (500), "close" sends
  the 101 and closes at once, "hang" never answers the upgrade;
- transient: the next N writes (PATCH, PUT) fail as LXD fails a write
  racing another update of the instance: 500 "A matching non-reusable
  operation has now succeeded" (lxd/instance/operationlock:
  ErrNonReusuableSucceeded, answered as a sync error);
- transient_op: the next N operations (a PUT's) end failed with that
  error as their "err" (status_code 400), as an operation whose lock was
  taken by another does.

GET /fake/state: {"hanging": n, "log": [[t, "METHOD PATH"], ...]} with t
in seconds of CLOCK_MONOTONIC, for tests to count and time requests.
"""
import base64
import hashlib
import json
import os
import socketserver
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit, unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxd_envelope import EnvelopeHandler  # noqa: E402

EXTENSIONS = [
    "storage_zfs_remove_snapshots", "container_host_shutdown_timeout",
    "instances", "virtual-machines", "gpu_mdev", "pci_passthrough",
    "device_usb", "etag", "patch", "operations", "api_filtering",
]
TRANSIENT = "A matching non-reusable operation has now succeeded"

lock = threading.Lock()
released = threading.Condition(lock)
instances = {}
operations = {}
log = []
hostile = {"hang": [], "events": "normal", "transient": 0, "transient_op": 0}
state = {"hanging": 0, "generation": 0}


def etag(inst):
    keep = {k: inst[k] for k in ("architecture", "config", "devices",
                                 "ephemeral", "profiles")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()


def must_hang(request):
    """Takes the first hang pattern @request matches, if any."""
    for pattern in hostile["hang"]:
        if request.startswith(pattern):
            hostile["hang"].remove(pattern)
            return True
    return False


class Handler(EnvelopeHandler):

    def hang_here(self):
        """Waits, holding no lock, until the test releases the hangs."""
        state["hanging"] += 1
        generation = state["generation"]
        while state["generation"] == generation:
            released.wait()
        state["hanging"] -= 1

    def route(self, method):
        url = urlsplit(self.path)
        path = unquote(url.path)
        request = "%s %s" % (method, path)
        with lock:
            if not path.startswith("/fake/"):
                log.append([time.monotonic(), request])
            if must_hang(request):
                self.hang_here()
        if path == "/1.0/events":
            return self.events()
        parts = path.strip("/").split("/")
        with lock:
            return self.dispatch(method, parts)

    def control(self, method, parts):
        if parts == ["fake", "state"]:
            return self.sync({"hanging": state["hanging"], "log": log})
        if parts == ["fake", "hostile"] and method == "PUT":
            hostile.update(self.body() or {})
            return self.sync({})
        if parts == ["fake", "release"] and method == "PUT":
            state["generation"] += 1
            released.notify_all()
            return self.sync({})
        return self.error(404, "not found")

    def dispatch(self, method, parts):
        if parts[0] == "fake":
            return self.control(method, parts)
        if parts == ["1.0"] and method == "GET":
            return self.sync({"api_extensions": EXTENSIONS, "api_version": "1.0",
                              "environment": {"server_name": "hostile",
                                              "server_version": "5.0.2",
                                              "server_clustered": False}})
        if parts == ["1.0", "instances"] and method == "GET":
            return self.sync(list(instances.values()))
        if parts[:2] == ["1.0", "operations"] and len(parts) == 4:
            op = operations.get(parts[2])
            if not op:
                return self.error(404, "Operation not found")
            return self.sync(op)
        if parts[:2] == ["1.0", "instances"] and len(parts) == 3:
            inst = instances.get(parts[2])
            if not inst:
                return self.error(404, "Instance not found")
            return self.instance(method, inst)
        return self.error(404, "not found")

    def instance(self, method, inst):
        tag = etag(inst)
        if method == "GET":
            return self.sync(inst, {"ETag": '"%s"' % tag})
        body = self.body() or {}
        if hostile["transient"] > 0:
            hostile["transient"] -= 1
            return self.error(500, TRANSIENT)
        match = self.headers.get("If-Match")
        if match and match.strip('"') != tag:
            return self.error(412, "ETag doesn't match")
        new = dict(inst["devices"])
        if method == "PATCH":
            for name, dev in (body.get("devices") or {}).items():
                if dev is None:
                    return self.error(400, 'Device "%s" is invalid' % name)
                new[name] = dev
        elif method == "PUT":
            new = body.get("devices") or {}
        else:
            return self.error(405, "method not allowed")
        old = inst["devices"]
        inst["devices"] = new
        if "description" in body:
            inst["description"] = body["description"]
        if method == "PATCH":
            return self.sync({})
        op_id = str(uuid.uuid4())
        operations[op_id] = {"id": op_id, "status": "Success",
                             "status_code": 200, "err": ""}
        if hostile["transient_op"] > 0:
            hostile["transient_op"] -= 1
            inst["devices"] = old
            operations[op_id].update(status="Failure", status_code=400,
                                     err=TRANSIENT)
        self.reply(202, {"type": "async", "status": "Operation created",
                         "status_code": 100, "error_code": 0, "error": "",
                         "operation": "/1.0/operations/" + op_id,
                         "metadata": operations[op_id]},
                   {"Location": "/1.0/operations/" + op_id})

    def events(self):
        with lock:
            mode = hostile["events"]
        if mode == "refuse":
            self.error(500, "events refused by the hostile fake")
            self.close_connection = True
            return
        if mode == "hang":
            with lock:
                self.hang_here()
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        if mode == "close":
            return
        while self.rfile.read(1):
            pass

    def do_GET(self):
        self.route("GET")

    def do_PATCH(self):
        self.route("PATCH")

    def do_PUT(self):
        self.route("PUT")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up on a refusal is no news


def main():
    sock = sys.argv[1]
    for name in sys.argv[2:]:
        instances[name] = {
            "name": name, "type": "container", "status": "Running",
            "location": "none", "architecture": "x86_64",
            "config": {"limits.cpu": "2"},
            "devices": {"root": {"type": "disk", "path": "/", "pool": "default"}},
            "ephemeral": False, "stateful": False, "profiles": ["default"],
            "description": "hostile container", "project": "default"}
    if os.path.exists(sock):
        os.unlink(sock)
    server = Server(sock + ".new", Handler)
    os.rename(sock + ".new", sock)
    server.serve_forever()


if __name__ == "__main__":
    main()
