# SPDX-License-Identifier: LGPL-2.1-or-later
"""USB in the lab guest: device ports and nodes as the guest's kernel and
udev show them, whether they are inside a container, plugging QEMU USB
devices and timing them (for test-lab-usb.py and test-lab-storm.py).

Waits: a node must show up inside its container within ATTACH_S (90 s)
of the plug. That is a bound for a machine whose both cores are busy and
whose guest is emulated (TCG), not a latency target: the figure devpass
reaches is the "plug to node" median test-lab-usb.py prints.
"""

import time

import lab

ATTACH_S = 90

# Kernel side of a guest: a device's port path by ids (and serial), and
# the device nodes under it, as udev names them (relative to /dev).
GUEST_HELPERS = r"""
usb_port() {  # VENDOR PRODUCT [SERIAL]
	for d in /sys/bus/usb/devices/*; do
		[ "$(cat $d/idVendor 2>/dev/null)" = "$1" ] || continue
		[ "$(cat $d/idProduct)" = "$2" ] || continue
		[ -z "$3" ] || [ "$(cat $d/serial 2>/dev/null)" = "$3" ] || continue
		basename $d
	done
}
usb_nodes() {  # PORT SUBSYSTEM...: /dev names of its nodes of those kinds
	local p=/sys/bus/usb/devices/$1 f d s; shift
	for f in $(find $p/ -name dev); do
		d=${f%/dev}
		s=$(basename $(readlink -f $d/subsystem))
		case " $* " in *" $s "*) udevadm info -q name -p $d ;; esac
	done | sort
}
cpid() { lxc query /1.0/instances/$1/state | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'; }
in_ct() {  # CONTAINER NODE...: every node is a char device inside
	local pid=$(cpid $1) n; shift
	[ $# -gt 0 ] || return 1
	for n; do [ -c /proc/$pid/root/dev/$n ] || return 1; done
}
none_in_ct() {  # CONTAINER NODE...: none is there
	local pid=$(cpid $1) n; shift
	for n; do [ ! -e /proc/$pid/root/dev/$n ] || return 1; done
}
entries() { lxc config device list $1 | grep '^devpass-' || true; }
"""


class UsbLab:
    def __init__(self, g):
        self.g = g
        self.plug_ms = []

    def sh(self, cmd, timeout=120, check=True):
        return self.g.run(". /mnt/lab/helpers.sh; " + cmd, timeout=timeout,
                          check=check)

    def wait(self, cmd, timeout=ATTACH_S):
        return self.g.wait(f"{{ . /mnt/lab/helpers.sh; {cmd}; }}", timeout)

    def setup(self, containers, rules):
        g = self.g
        with open(f"{g.share}/helpers.sh", "w") as f:
            f.write(GUEST_HELPERS)
        g.install_devpass()
        t0 = time.monotonic()
        g.start_lxd(*containers)
        lab.log(f"LXD and {len(containers)} containers up in "
                f"{time.monotonic() - t0:.0f} s")
        # The xhci's USB2 root hub (usb-kbd & co are USB 1.1/2 devices).
        self.bus = g.run("grep -l '^480$' /sys/bus/usb/devices/usb*/speed "
                         "| head -1 | sed 's,.*/usb\\([0-9]*\\)/speed,\\1,'"
                         ).strip()
        for name, text in rules.items():
            g.write_rule(name, text.format(bus=self.bus))

    # Plugs a QEMU USB device and waits until the nodes of @kinds under it
    # are inside @ct; returns (port, nodes). Times the plug: from the
    # device's sysfs folder appearing (the kernel's add uevent follows
    # at once) to its first node inside the container, timed in the guest.
    def plug(self, driver, ident, port, ct, kinds, ids, **props):
        g = self.g
        g.run(f"rm -f /tmp/plug.t; (. /mnt/lab/helpers.sh; "
              f"p=/sys/bus/usb/devices/{self.bus}-{port}; pid=$(cpid {ct}); "
              f"end=$((SECONDS + {ATTACH_S})); "
              f"until [ -e $p ] || [ $SECONDS -gt $end ]; do :; done; "
              f"t0=$EPOCHREALTIME; "
              f"until [ -n \"$(compgen -G \"/proc/$pid/root/dev/{kinds[0]}\")\" ]"
              f" || [ $SECONDS -gt $end ]; do :; done; "
              f"echo $t0 $EPOCHREALTIME > /tmp/plug.t) >/dev/null 2>&1 &")
        g.device_add(driver, ident, port=port, **props)
        self.wait(f"[ -n \"$(usb_port {ids})\" ]", 60)
        dev = self.sh(f"usb_port {ids}").split()
        assert len(dev) == 1, f"one device {ids}, found {dev}"
        dev = dev[0]
        assert dev == f"{self.bus}-{port}", f"{ids} at {dev}"
        node_kinds = {"input/event*": "input", "hidraw*": "hidraw",
                      "ttyUSB*": "tty", "ttyACM*": "tty", "snd/*": "sound",
                      "bus/usb/*/*": "usb"}
        subs = " ".join(sorted({node_kinds[k] for k in kinds}))
        self.wait(f"[ -n \"$(usb_nodes {dev} {subs})\" ]", 60)
        nodes = self.sh(f"usb_nodes {dev} {subs}").split()
        if "input" in subs:  # event*, not the legacy mouse*/js* nodes
            nodes = [n for n in nodes if not n.startswith("input/") or
                     n.startswith("input/event")]
        secs = self.wait(f"in_ct {ct} {' '.join(nodes)}")
        lab.log(f"{driver} {dev}: {' '.join(nodes)} inside {ct} "
                f"({secs:.1f} s after udev showed them)")
        self.g.wait("[ -s /tmp/plug.t ]", 30)
        t0, t1 = map(float, self.g.run("cat /tmp/plug.t").split())
        self.plug_ms.append((t1 - t0) * 1000)
        return dev, nodes

    def unplug(self, ident, ct, nodes):
        self.g.device_del(ident)
        self.wait(f"none_in_ct {ct} {' '.join(nodes)}")
        self.wait(f"[ -z \"$(entries {ct})\" ]", 30)
