#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fake LXD on a unix socket, for what the real one cannot do here: VMs
(no vhost_vsock on the test machines) and other LXD versions' extension
sets.

    fake-lxd.py SOCKET EXTENSION_SET NAME:TYPE:STATUS...

EXTENSION_SET is "lxd-5.0.2" (Debian 12's: no device_usb_serial,
pci_hotplug, device_patch_removal), "lxd-current" (with them) or
"incus-6.0.4" (device_usb_serial only, and environment.server "incus").
TYPE is container or virtual-machine, STATUS Running or Stopped.

It answers like LXD where devpass depends on it: the envelope, ETag/If-Match
(412), PATCH merging the devices map, PUT as an async operation waited for
at /1.0/operations/ID/wait, and the device rules of lxd/instance/drivers.

What lxd-5.0.2 answers for a running VM is what a running LXD 5.0.2 VM was
measured to answer (DESIGN.md, "Real parts beyond one LXD 5.0.2"); the
texts are those of the real 5.0.2 (and Incus 6.0.4) for the same request
to a container, where the device's validation is the same, each an error
envelope with error_code 500 under HTTP 500:
- a `usb` entry with vendorid/productid is accepted, with no such device;
- `serial` (and busnum, devnum) before device_usb_serial:
  'Invalid devices: Device validation failed for "NAME": Invalid device
  option "serial"';
- `pci` and `gpu` while the VM runs, before pci_hotplug: 'Failed to add
  device "NAME": Device cannot be added when instance is running';
- `"NAME": null` in a PATCH without device_patch_removal: 'Invalid devices:
  Device validation failed for "NAME": Failed loading device "NAME":
  Missing device type in config';
- removal by PUT works;
- a PATCH or PUT without "description" sets it to "", and the ETag does
  not cover it (both real servers).
lxd-current's pci_hotplug, device_patch_removal and device_usb_serial
cannot be measured here (no LXD newer than 5.0.2 runs): they follow the
LXD sources. /1.0/events is a WebSocket that sends lifecycle events for
the state changes a test asks for with PUT /1.0/instances/NAME/state.
GET /fake/log lists the requests it got, for tests to check.
"""
import base64
import hashlib
import json
import os
import socketserver
import struct
import sys
import threading
import uuid
from urllib.parse import urlsplit, unquote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lxd_envelope import EnvelopeHandler  # noqa: E402

BASE_EXTENSIONS = [
    "storage_zfs_remove_snapshots", "container_host_shutdown_timeout",
    "instances", "virtual-machines", "gpu_mdev", "pci_passthrough",
    "device_usb", "etag", "patch", "operations", "api_filtering",
]
NEW_EXTENSIONS = ["device_usb_serial", "pci_hotplug", "device_patch_removal"]
VERSIONS = {"lxd-5.0.2": ("lxd", "5.0.2", []),
            "lxd-current": ("lxd", "5.21.1", NEW_EXTENSIONS),
            "incus-6.0.4": ("incus", "6.0.4", ["device_usb_serial"])}

lock = threading.Lock()
instances = {}
operations = {}
log = []
listeners = []


def etag(inst):
    keep = {k: inst[k] for k in ("architecture", "config", "devices",
                                 "ephemeral", "profiles")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()


def has(ext):
    return ext in EXTENSIONS


def hotpluggable(dev, inst):
    """CanHotPlug(): pci and gpu devices of VMs only with pci_hotplug."""
    if inst["type"] == "virtual-machine" and dev.get("type") in ("pci", "gpu"):
        return has("pci_hotplug")
    return True


def invalid(name, why):
    return 'Invalid devices: Device validation failed for "%s": %s' % (name, why)


def check_device(name, dev):
    if not dev or "type" not in dev:
        return invalid(name, 'Failed loading device "%s": Missing device '
                       'type in config' % name)
    if dev.get("type") == "usb" and not has("device_usb_serial"):
        for key in ("serial", "busnum", "devnum"):
            if key in dev:
                return invalid(name, 'Invalid device option "%s"' % key)
    if dev.get("type") == "pci" and "address" not in dev:
        return invalid(name, "Missing address")
    return None


def check_change(inst, old, new):
    """The error LXD gives for turning devices @old into @new, or None."""
    running = inst["status"] == "Running"
    for name, dev in new.items():
        if name in old and old[name] == dev:
            continue
        err = check_device(name, dev)
        if err:
            return err
        if running and not hotpluggable(dev, inst):
            return 'Failed to add device "%s": Device cannot be added ' \
                   'when instance is running' % name
    for name, dev in old.items():
        if name not in new and running and not hotpluggable(dev, inst):
            return 'Failed to remove device "%s": Device cannot be ' \
                   'removed when instance is running' % name
    return None


def event(action, name):
    body = json.dumps({"type": "lifecycle", "timestamp": "2024-01-01T00:00:00Z",
                       "metadata": {"action": action,
                                    "source": "/1.0/instances/" + name,
                                    "context": {}},
                       "project": "default", "location": "none"}).encode()
    frame = bytes([0x81])
    if len(body) < 126:
        frame += bytes([len(body)])
    else:
        frame += bytes([126]) + struct.pack(">H", len(body))
    for wfile in list(listeners):
        try:
            wfile.write(frame + body)
            wfile.flush()
        except OSError:
            listeners.remove(wfile)


class Handler(EnvelopeHandler):

    def route(self, method):
        url = urlsplit(self.path)
        path = unquote(url.path)
        with lock:
            log.append("%s %s" % (method, path))
        if path == "/1.0/events":
            return self.events()
        parts = path.strip("/").split("/")
        with lock:
            return self.dispatch(method, parts, url.query)

    def dispatch(self, method, parts, query):
        if parts == ["fake", "log"]:
            return self.sync(log)
        if parts == ["1.0"] and method == "GET":
            return self.sync({"api_extensions": EXTENSIONS, "api_version": "1.0",
                              "environment": {"server": SERVER,
                                             "server_name": "fake",
                                             "server_version": VERSION,
                                             "server_clustered": False}})
        if parts == ["1.0", "instances"] and method == "GET":
            return self.sync(list(instances.values()))
        if parts[:2] == ["1.0", "operations"] and len(parts) == 4:
            op = operations.get(parts[2])
            if not op:
                return self.error(404, "Operation not found")
            return self.sync(op)
        if parts[:2] == ["1.0", "instances"] and len(parts) >= 3:
            inst = instances.get(parts[2])
            if not inst:
                return self.error(404, "Instance not found")
            if len(parts) == 4 and parts[3] == "state":
                return self.state(inst)
            return self.instance(method, inst)
        return self.error(404, "not found")

    def instance(self, method, inst):
        tag = etag(inst)
        if method == "GET":
            return self.sync(inst, {"ETag": '"%s"' % tag})
        match = self.headers.get("If-Match")
        if match and match.strip('"') != tag:
            return self.error(412, "ETag doesn't match")
        body = self.body() or {}
        new = dict(inst["devices"])
        if method == "PATCH":
            for name, dev in (body.get("devices") or {}).items():
                if dev is None and has("device_patch_removal"):
                    new.pop(name, None)
                else:
                    # Without the extension null is an empty device,
                    # refused by check_change() as the real one does.
                    new[name] = dev
        elif method == "PUT":
            new = body.get("devices") or {}
        else:
            return self.error(405, "method not allowed")
        err = check_change(inst, inst["devices"], new)
        if err:
            return self.error(500, err)
        inst["devices"] = new
        inst["description"] = body.get("description") or ""
        if method == "PATCH":
            return self.sync({})
        return self.operation()

    def operation(self):
        op_id = str(uuid.uuid4())
        operations[op_id] = {"id": op_id, "status": "Success",
                             "status_code": 200, "err": ""}
        self.reply(202, {"type": "async", "status": "Operation created",
                         "status_code": 100, "error_code": 0, "error": "",
                         "operation": "/1.0/operations/" + op_id,
                         "metadata": operations[op_id]},
                   {"Location": "/1.0/operations/" + op_id})

    def state(self, inst):
        action = (self.body() or {}).get("action")
        inst["status"] = {"start": "Running", "stop": "Stopped"}[action]
        event({"start": "instance-started", "stop": "instance-stopped"}[action],
              inst["name"])
        return self.operation()

    def events(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept.decode())
        self.end_headers()
        self.wfile.flush()
        with lock:
            listeners.append(self.wfile)
        # Stay until the client goes; its frames (pings, close) are ignored.
        while self.rfile.read(1):
            pass
        self.close_connection = True

    def do_GET(self):
        self.route("GET")

    def do_PATCH(self):
        self.route("PATCH")

    def do_PUT(self):
        self.route("PUT")


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    global EXTENSIONS, SERVER, VERSION
    sock, ext_set = sys.argv[1], sys.argv[2]
    SERVER, VERSION, extra = VERSIONS[ext_set]
    EXTENSIONS = BASE_EXTENSIONS + extra
    for spec in sys.argv[3:]:
        name, kind, status = spec.split(":")
        instances[name] = {
            "name": name, "type": kind, "status": status, "location": "none",
            "architecture": "x86_64", "config": {"limits.cpu": "2"},
            "devices": {"root": {"type": "disk", "path": "/", "pool": "default"}},
            "ephemeral": False, "stateful": False, "profiles": ["default"],
            "description": "fake " + kind, "project": "default"}
    if os.path.exists(sock):
        os.unlink(sock)
    # The socket shows at its path only once it listens: a test that waits
    # for the path to appear must not connect between bind and listen.
    server = Server(sock + ".new", Handler)
    os.rename(sock + ".new", sock)
    server.serve_forever()


if __name__ == "__main__":
    main()
