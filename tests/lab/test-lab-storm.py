#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A uevent storm on a real kernel, with a plug and an unplug inside it.

STORM `change` uevents (30000; the storm stops after STORM_S, 150 s, and
counts only if at least 10000 were written) are written to the sysfs
`uevent` file of a USB
keyboard that devpassd watches and has placed (the monitor's filter lets
usb events through, so they all reach devpassd, through udevd); during
the storm a second keyboard is plugged and a third unplugged. Asserted:
the plugged one is inside its container and the unplugged one's nodes and
entries are gone within BOUND_S of the kernel's event, `devpass status`
answers within STATUS_MS every time it is asked (every ~0.1 s throughout),
nothing is lost (all three where they belong after the storm), and if the
kernel dropped uevents (ENOBUFS) the log says it healed.

Margins: the issue's bounds are 2 s and 100 ms. The guest runs under TCG
on a shared machine, where everything is several times slower than on
hardware; under TCG the bounds are multiplied by SLOWDOWN (3, or
$DEVPASS_LAB_SLOWDOWN): 6 s and 300 ms. Under KVM they are the issue's.
The figures measured are printed either way.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402
from usblab import UsbLab  # noqa: E402

STORM = int(os.environ.get("DEVPASS_LAB_STORM", "30000"))
# The storm stops after STORM_S seconds if it has not written STORM by
# then (a guest starved by a busy devpassd writes slowly); at least
# STORM_MIN must have been written for the test to count.
STORM_S = int(os.environ.get("DEVPASS_LAB_STORM_S", "150"))
STORM_MIN = 10000

RULES = {
    f"10-kbd-{s}": f"""[Match]
Subsystem=usb
Vendor=0627
Serial={s}

[Attach]
Instance={c}
Nodes=hidraw
""" for s, c in (("STORM", "c1"), ("PLUG", "c2"), ("UNPLUG", "c3"))}

# In the guest, in the background: the storm, `devpass status` asked
# every 0.1 s until the storm ends (rc and duration per line), and the
# plug and unplug timed from the kernel's side (the device's sysfs folder
# appearing / going) to the container's side (its hidraw node there / not).
PROBES = r"""
. /mnt/lab/helpers.sh
storm() {  # PORT COUNT SECONDS: COUNT events, or as many as fit
	local f=/sys/bus/usb/devices/$1/uevent i t0=$EPOCHREALTIME
	local end=$((SECONDS + $3))
	for ((i = 0; i < $2; i++)); do
		echo change > $f
		((i % 500)) || [ $SECONDS -lt $end ] || break
	done
	echo $t0 $EPOCHREALTIME $i > /tmp/storm.done
}
status_probe() {
	local a b rc
	while [ ! -e /tmp/storm.done ]; do
		a=$EPOCHREALTIME
		timeout 10 devpass status > /dev/null 2>&1; rc=$?
		b=$EPOCHREALTIME
		echo $rc $a $b >> /tmp/status.log
		sleep 0.1
	done
}
plug_probe() {  # PORT CONTAINER
	local pid=$(cpid $2) end=$((SECONDS + 300)) t0
	until [ -e /sys/bus/usb/devices/$1 ] || [ $SECONDS -gt $end ]; do :; done
	t0=$EPOCHREALTIME
	until [ -n "$(compgen -G "/proc/$pid/root/dev/hidraw*")" ] ||
		[ $SECONDS -gt $end ]; do :; done
	echo $t0 $EPOCHREALTIME > /tmp/plug.t
}
unplug_probe() {  # PORT CONTAINER
	local pid=$(cpid $2) end=$((SECONDS + 300)) t0
	until [ ! -e /sys/bus/usb/devices/$1 ] || [ $SECONDS -gt $end ]; do :; done
	t0=$EPOCHREALTIME
	while [ -n "$(compgen -G "/proc/$pid/root/dev/hidraw*")" ] &&
		[ $SECONDS -le $end ]; do :; done
	echo $t0 $EPOCHREALTIME > /tmp/unplug.t
}
"""


def scenario(u):
    g = u.g
    slow = float(os.environ.get("DEVPASS_LAB_SLOWDOWN",
                                "1" if g.accel == "kvm" else "3"))
    bound_s, status_ms = 2 * slow, 100 * slow
    with open(f"{g.share}/probes.sh", "w") as f:
        f.write(PROBES)
    g.run("systemctl start devpass")
    _, storm_nodes = u.plug("usb-kbd", "ks", 1, "c1", ["hidraw*"],
                            "0627 0001 STORM", serial="STORM")
    _, gone_nodes = u.plug("usb-kbd", "ku", 3, "c3", ["hidraw*"],
                           "0627 0001 UNPLUG", serial="UNPLUG")
    pairs = g.run("for i in 1 2 3 4 5 6 7 8; do a=$EPOCHREALTIME; "
                  "devpass status >/dev/null; echo $a $EPOCHREALTIME; done")
    idle = [(float(b) - float(a)) * 1000 for a, b in
            (line.split() for line in pairs.splitlines())]
    lab.log(f"devpass status before the storm, in the guest: median "
            f"{statistics.median(idle):.0f} ms, max {max(idle):.0f} ms")
    g.run(f"rm -f /tmp/storm.done /tmp/status.log /tmp/plug.t /tmp/unplug.t;"
          f" . /mnt/lab/probes.sh;"
          f" (storm {u.bus}-1 {STORM} {STORM_S} &) >/dev/null 2>&1;"
          f" (status_probe &) >/dev/null 2>&1;"
          f" (plug_probe {u.bus}-2 c2 &) >/dev/null 2>&1;"
          f" (unplug_probe {u.bus}-3 c3 &) >/dev/null 2>&1")
    time.sleep(3)
    g.device_add("usb-kbd", "kp", port=2, serial="PLUG")
    g.qmp("device_del", id="ku")
    g.wait("[ -e /tmp/storm.done ]", timeout=STORM_S + 60, interval=1)
    t0, t1, written = g.run("cat /tmp/storm.done").split()
    t0, t1, written = float(t0), float(t1), int(written)
    lab.log(f"storm: {written} change uevents written in {t1 - t0:.1f} s")
    g.wait("[ -e /tmp/plug.t ] && [ -e /tmp/unplug.t ]", timeout=300)
    p0, p1 = map(float, g.run("cat /tmp/plug.t").split())
    q0, q1 = map(float, g.run("cat /tmp/unplug.t").split())
    rows = [line.split() for line in
            g.run("cat /tmp/status.log").splitlines()]
    ms = [(float(b) - float(a)) * 1000 for _, a, b in rows]
    bad = [r[0] for r in rows if r[0] != "0"]
    lab.log(f"during the storm: plug to node in its container "
            f"{p1 - p0:.2f} s, unplug to node gone {q1 - q0:.2f} s, "
            f"devpass status asked {len(rows)} times: max {max(ms):.0f} ms, "
            f"median {statistics.median(ms):.0f} ms, {len(bad)} failed")
    journal = g.run("journalctl -u devpass --no-pager -o cat")
    lost = [line for line in journal.splitlines() if "uevents lost" in line
            or "overflow" in line or "ENOBUFS" in line]
    lab.log(f"log lines about lost uevents: {len(lost)}"
            + (f" (first: {lost[0]})" if lost else ""))
    # Nothing lost: each keyboard where it belongs once the storm is over.
    u.wait(f"in_ct c1 {' '.join(storm_nodes)}", 60)
    u.wait("[ -n \"$(compgen -G \"/proc/$(cpid c2)/root/dev/hidraw*\")\" ]",
           60)
    u.wait(f"none_in_ct c3 {' '.join(gone_nodes)} && "
           f"[ -z \"$(entries c3)\" ]", 60)
    errors = []
    if written < STORM_MIN:
        errors.append(f"only {written} uevents written in {STORM_S} s")
    if p1 - p0 > bound_s:
        errors.append(f"the plugged keyboard took {p1 - p0:.1f} s "
                      f"(bound {bound_s:.0f} s)")
    if q1 - q0 > bound_s:
        errors.append(f"the unplugged keyboard's node stayed {q1 - q0:.1f} s"
                      f" (bound {bound_s:.0f} s)")
    if bad:
        errors.append(f"devpass status failed {len(bad)} of {len(rows)} "
                      f"times (exit codes {sorted(set(bad))})")
    if max(ms) > status_ms:
        errors.append(f"devpass status took up to {max(ms):.0f} ms "
                      f"(bound {status_ms:.0f} ms)")
    if lost and not any("enumerated again" in line for line in journal
                        .splitlines()[journal.splitlines().index(lost[0]):]):
        errors.append("uevents were lost and the log does not say they "
                      "were healed")
    assert not errors, "; ".join(errors)


def main():
    tap = lab.Tap()
    try:
        with lab.Lab(machine="usb") as g:
            u = UsbLab(g)
            if not tap.test("The lab guest boots with devpass and LXD",
                            u.setup, ("c1", "c2", "c3"), RULES):
                return tap.done()
            tap.test(f"A storm of {STORM} change uevents: a plug and an "
                     "unplug inside it are placed in time, devpass status "
                     "answers throughout", scenario, u)
            if tap.failed:
                print("# devpass journal:\n# " + g.run(
                    "journalctl -u devpass --no-pager -o cat | tail -40",
                    check=False).replace("\n", "\n# "))
    except lab.LabSkip as e:
        lab.main_skip(str(e))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
