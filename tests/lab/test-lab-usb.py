#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""USB on a real kernel, into real containers, by the shipped unit.

One guest (tests/lab/lab.py, machine "usb": qemu-xhci) for every test
here: devpass installed as `meson install` would, started by the shipped
systemd/devpass.service under the guest's systemd, the guest's own LXD
with four busybox containers, devices plugged and unplugged through QMP
(QEMU's usb-kbd, usb-serial, usb-audio, usb-ccid) and through dummy_hcd
gadgets with chosen ids. A TAP line per test; timings are printed, not
asserted (a loaded machine under TCG is slow).

Waits: see usblab.py (ATTACH_S).
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from usblab import UsbLab  # noqa: E402
CONTAINERS = ("c1", "c2", "c3", "c4")

# USB2 bus of the xhci is found at setup (BUS); rules naming ports use it.
RULES = {
    "10-kbd-serial": """[Match]
Subsystem=usb
Vendor=0627
Product=0001
Serial=KBD1

[Attach]
Instance=c1
Nodes=input hidraw
""",
    "20-ftdi": """[Match]
Subsystem=usb
Vendor=0403
Product=6001

[Attach]
Instance=c1
Nodes=tty
Mode=0666
""",
    "30-audio": """[Match]
Subsystem=usb
Class=01

[Attach]
Instance=c2
Nodes=sound
""",
    "40-smartcard": """[Match]
Subsystem=usb
Class=0b

[Attach]
Instance=c2
Nodes=usb
""",
    "50-phone-TEST1": """[Match]
Subsystem=usb
Vendor=0fce
Product=51da
Serial=TEST1

[Attach]
Instance=c3
Nodes=tty
""",
    "50-phone-TEST2": """[Match]
Subsystem=usb
Vendor=0fce
Product=51da
Serial=TEST2

[Attach]
Instance=c4
Nodes=tty
""",
    "60-twin-a": """[Match]
Subsystem=usb
Vendor=0627
Port={bus}-5

[Attach]
Instance=c3
Nodes=input hidraw
""",
    "60-twin-b": """[Match]
Subsystem=usb
Vendor=0627
Port={bus}-6

[Attach]
Instance=c4
Nodes=input hidraw
""",
}

def test_unit_starts(u):
    g = u.g
    g.run("systemctl start devpass", timeout=120)
    assert g.run("systemctl is-active devpass", check=False).strip() == \
        "active", g.run("systemctl status devpass", check=False)
    frag = g.run("systemctl show -p FragmentPath --value devpass").strip()
    # the same file by both names on a merged /usr (/lib -> usr/lib)
    same = g.run(f"readlink -f {frag} {g.unit_path}").split()
    assert len(same) == 2 and same[0] == same[1], \
        f"{frag}, installed at {g.unit_path}"
    g.run("devpass status")
    out = g.run("systemd-analyze security devpass --no-pager", check=False)
    lab.log("systemd-analyze security devpass: " +
            out.strip().splitlines()[-1])


def test_kbd_serial(u):
    dev, nodes = u.plug("usb-kbd", "kbd1", 1, "c1",
                        ["input/event*", "hidraw*"], "0627 0001 KBD1",
                        serial="KBD1")
    assert any(n.startswith("input/event") for n in nodes), nodes
    assert any(n.startswith("hidraw") for n in nodes), nodes
    for other in ("c2", "c3", "c4"):
        assert u.g.rc(f". /mnt/lab/helpers.sh; none_in_ct {other} "
                      f"{' '.join(nodes)}") == 0, f"{nodes} in {other}"
    u.unplug("kbd1", "c1", nodes)


def test_serial_bytes(u):
    g = u.g
    out = f"{g.tmp}/ser0.out"
    g.chardev_file("ser0", out)
    dev, nodes = u.plug("usb-serial", "ser1", 2, "c1", ["ttyUSB*"],
                        "0403 6001", chardev="ser0")
    assert nodes == ["ttyUSB0"], nodes
    g.run("lxc exec c1 -- sh -c 'stty -F /dev/ttyUSB0 raw -echo; "
          "printf devpass-lab-bytes > /dev/ttyUSB0'")
    deadline = time.monotonic() + 30
    while b"devpass-lab-bytes" not in open(out, "rb").read():
        assert time.monotonic() < deadline, \
            f"host chardev file holds {open(out, 'rb').read()!r}"
        time.sleep(0.2)
    u.unplug("ser1", "c1", nodes)
    g.qmp("chardev-remove", id="ser0")


def test_audio(u):
    dev, nodes = u.plug("usb-audio", "aud1", 3, "c2", ["snd/*"],
                        "46f4 0002", audiodev="noaudio")
    assert any(n.startswith("snd/control") for n in nodes), nodes
    assert any(n.startswith("snd/pcm") for n in nodes), nodes
    u.unplug("aud1", "c2", nodes)


def test_ccid(u):
    dev, nodes = u.plug("usb-ccid", "ccid1", 4, "c2", ["bus/usb/*/*"],
                        "08e6 4433")
    assert nodes and nodes[0].startswith("bus/usb/"), nodes
    u.unplug("ccid1", "c2", nodes)


def test_twins_by_port(u):
    g = u.g
    # One serial for both (QEMU's default holds the port): twins in all
    # but their port.
    _, na = u.plug("usb-kbd", "twa", 5, "c3", ["input/event*", "hidraw*"],
                   "0627 0001 TWIN", serial="TWIN")
    g.device_add("usb-kbd", "twb", port=6, serial="TWIN")
    u.wait(f"[ -n \"$(usb_nodes {u.bus}-6 hidraw input)\" ]", 60)
    nb = [n for n in u.sh(f"usb_nodes {u.bus}-6 hidraw input").split()
          if not n.startswith("input/") or n.startswith("input/event")]
    u.wait(f"in_ct c4 {' '.join(nb)}")
    assert u.g.rc(f". /mnt/lab/helpers.sh; none_in_ct c4 {' '.join(na)} "
                  f"&& none_in_ct c3 {' '.join(nb)}") == 0, \
        "a twin's nodes went to the other's container"
    u.unplug("twa", "c3", na)
    u.unplug("twb", "c4", nb)


GADGET = r"""
g=/sys/kernel/config/usb_gadget/$1
mkdir -p $g/strings/0x409 $g/configs/c.1/strings/0x409 $g/functions/acm.usb0
echo 0x0fce > $g/idVendor; echo 0x51da > $g/idProduct
echo $2 > $g/strings/0x409/serialnumber
echo devpass-lab > $g/strings/0x409/manufacturer
echo phone > $g/strings/0x409/product
echo acm > $g/configs/c.1/strings/0x409/configuration
ln -s $g/functions/acm.usb0 $g/configs/c.1/
echo $3 > $g/UDC
"""


def test_gadgets_by_serial(u):
    g = u.g
    g.run("modprobe dummy_hcd num=2 && modprobe libcomposite && "
          "{ mountpoint -q /sys/kernel/config || "
          "mount -t configfs none /sys/kernel/config; }")
    with open(f"{g.share}/gadget.sh", "w") as f:
        f.write(GADGET)
    g.run("sh /mnt/lab/gadget.sh p1 TEST1 dummy_udc.0 && "
          "sh /mnt/lab/gadget.sh p2 TEST2 dummy_udc.1")
    got = {}
    for serial, ct in (("TEST1", "c3"), ("TEST2", "c4")):
        u.wait(f"[ -n \"$(usb_port 0fce 51da {serial})\" ]", 60)
        dev = u.sh(f"usb_port 0fce 51da {serial}").strip()
        u.wait(f"[ -n \"$(usb_nodes {dev} tty)\" ]", 60)
        nodes = u.sh(f"usb_nodes {dev} tty").split()
        assert len(nodes) == 1 and nodes[0].startswith("ttyACM"), nodes
        got[ct] = nodes
        secs = u.wait(f"in_ct {ct} {nodes[0]}")
        lab.log(f"gadget {serial} at {dev}: /dev/{nodes[0]} inside {ct} "
                f"({secs:.1f} s)")
    assert u.g.rc(f". /mnt/lab/helpers.sh; none_in_ct c3 {got['c4'][0]} && "
                  f"none_in_ct c4 {got['c3'][0]}") == 0, \
        "a phone went to the other serial's container"
    g.run("echo '' > /sys/kernel/config/usb_gadget/p1/UDC; "
          "echo '' > /sys/kernel/config/usb_gadget/p2/UDC")
    for ct in ("c3", "c4"):
        u.wait(f"none_in_ct {ct} {got[ct][0]}")
        u.wait(f"[ -z \"$(entries {ct})\" ]", 30)


def test_reload_rereads_rules(u):
    g = u.g
    g.device_add("usb-kbd", "kbd2", port=7, serial="KBD2")
    u.wait(f"[ -n \"$(usb_nodes {u.bus}-7 hidraw)\" ]", 60)
    nodes = u.sh(f"usb_nodes {u.bus}-7 hidraw").split()
    time.sleep(3)
    assert u.sh("entries c2").strip() == "", "attached before its rule"
    g.write_rule("05-kbd-reload", """[Match]
Subsystem=usb
Vendor=0627
Serial=KBD2

[Attach]
Instance=c2
Nodes=hidraw
""")
    g.run("systemctl reload devpass")
    u.wait(f"in_ct c2 {' '.join(nodes)}")
    assert g.run("systemctl is-active devpass").strip() == "active"
    u.unplug("kbd2", "c2", nodes)


def test_journal_lines(u):
    out = u.g.run("journalctl -u devpass --no-pager -o cat")
    for want in ("attached 10-kbd-serial", "detached 10-kbd-serial",
                 "attached 20-ftdi", "attached 50-phone-TEST1",
                 "attached 05-kbd-reload", "SIGHUP: reloading rules"):
        assert want in out, f"no {want!r} in the journal:\n{out[-3000:]}"


def test_unit_stops_cleanly(u):
    g = u.g
    g.run("systemctl stop devpass", timeout=60)
    show = g.run("systemctl show devpass -p ActiveState -p Result "
                 "-p ExecMainStatus -p ExecMainCode")
    lab.log("after stop: " + " ".join(show.split()))
    assert "ActiveState=inactive" in show, show
    assert "Result=success" in show, show


TESTS = [
    ("The shipped unit starts devpassd under the guest's systemd",
     test_unit_starts),
    ("usb-kbd with a serial: its event and hidraw nodes inside the "
     "container, gone on device_del", test_kbd_serial),
    ("usb-serial: /dev/ttyUSB0 inside, bytes written there reach the "
     "host's chardev file", test_serial_bytes),
    ("usb-audio: its /dev/snd nodes inside (Nodes=sound)", test_audio),
    ("usb-ccid: a smartcard reader by interface class 0b", test_ccid),
    ("Identical twins by Port=: two usb-kbd, two containers",
     test_twins_by_port),
    ("dummy_hcd phones 0fce:51da: /dev/ttyACM* by Serial=, two serials "
     "two containers", test_gadgets_by_serial),
    ("systemctl reload re-reads the rules", test_reload_rereads_rules),
    ("journalctl -u devpass holds the attach and detach lines",
     test_journal_lines),
    ("systemctl stop exits cleanly", test_unit_stops_cleanly),
]


def main():
    tap = lab.Tap()
    t0 = time.monotonic()
    try:
        with lab.Lab(machine="usb") as g:
            u = UsbLab(g)
            if not tap.test("The lab guest boots with devpass and LXD",
                            u.setup, CONTAINERS, RULES):
                print("# console:\n# " +
                      g.console_tail().replace("\n", "\n# "))
                return tap.done()
            for title, fn in TESTS:
                tap.test(title, fn, u)
            if tap.failed:
                print("# devpass journal:\n# " + g.run(
                    "journalctl -u devpass --no-pager -o cat | tail -60",
                    check=False).replace("\n", "\n# "))
            if u.plug_ms:
                lab.log("plug (sysfs device) to first node inside the "
                        f"container: median {statistics.median(u.plug_ms):.0f}"
                        f" ms of {len(u.plug_ms)} plugs "
                        f"({', '.join(f'{m:.0f}' for m in u.plug_ms)})")
    except lab.LabSkip as e:
        lab.main_skip(str(e))
    lab.log(f"whole program: {time.monotonic() - t0:.0f} s")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
