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
entries are gone within BOUND_S of the kernel's event; devpassd answers
every status request within STATUS_MS (asked every 0.1 s throughout by
one long-lived client, tests/lab/control-probe.c, so that what is timed
is devpassd's answer); `devpass status`, run every 0.1 s too, never
fails (its times are printed beside those of `devpass --version`: what
starting a command costs the loaded guest, devpassd aside); nothing is
lost (all three where they belong after the storm), and if the kernel
dropped uevents (ENOBUFS) the log says it healed.

With $DEVPASS_LAB_STORM_TIMED=0 (tests/ci.sh's lab leg) the timing bounds
are printed, not asserted; the rest is.

Margins: the issue's bounds are 2 s and 100 ms. The guest runs under TCG
on a shared machine, where everything is several times slower than on
hardware; under TCG the bounds are multiplied by SLOWDOWN (3, or
$DEVPASS_LAB_SLOWDOWN): 6 s and 300 ms. Under KVM they are the issue's.
The figures measured are printed either way.
"""

import os
import shutil
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
STORM_MIN = int(os.environ.get("DEVPASS_LAB_STORM_MIN", "10000"))
# Whether the timing bounds are asserted (the lab-storm suite) or only
# printed (CI's lab leg, where a loaded machine would make them flaky:
# what it asserts there is that nothing is lost and status never fails).
TIMED = os.environ.get("DEVPASS_LAB_STORM_TIMED", "1") != "0"

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
# `devpass status`, and as a control `devpass --version`: the same binary
# started the same way, without asking devpassd (what the loaded guest
# itself costs a command).
status_probe() {
	local a b rc what
	while [ ! -e /tmp/storm.done ]; do
		for what in status --version; do
			a=$EPOCHREALTIME
			timeout 10 devpass $what > /dev/null 2>&1; rc=$?
			b=$EPOCHREALTIME
			echo $what $rc $a $b >> /tmp/status.log
			sleep 0.05
		done
	done
}
# What devpassd is doing, every 20 ms until the storm ends: its state (R
# running or runnable, S sleeping, D in the kernel) and, unless running,
# the system call it is in (232 epoll_wait, 1 write, ...). Builtins only.
devpassd_sampler() {
	local pid=$(systemctl show -p MainPID --value devpass) st sc
	while [ ! -e /tmp/storm.done ]; do
		read -r st < /proc/$pid/stat; st=${st##*) }
		read -r sc < /proc/$pid/syscall
		echo $EPOCHREALTIME ${st%% *} ${sc%% *}
		sleep 0.02
	done > /tmp/sampler.log
}
# CPU microseconds so far: udevd with its workers, devpassd, LXD, and all
# the guest's non-idle time.
cpu_usec() {
	local cg=/sys/fs/cgroup/system.slice l pid=$(cat /var/lib/lxd/lxd.pid)
	echo udevd $(awk '/^usage_usec/ {print $2}' $cg/systemd-udevd.service/cpu.stat)
	echo devpassd $(awk '/^usage_usec/ {print $2}' $cg/devpass.service/cpu.stat)
	l=($(cut -d' ' -f14-17 /proc/$pid/stat))
	echo lxd $(( (l[0] + l[1] + l[2] + l[3]) * 1000000 / $(getconf CLK_TCK) ))
	l=($(head -1 /proc/stat))
	echo all $(( (l[1] + l[2] + l[3] + l[6] + l[7]) * 1000000 / $(getconf CLK_TCK) ))
}
# When udevd first and last finished with a device or one of its
# children: USEC_INITIALIZED (CLOCK_MONOTONIC), as wall-clock seconds.
udev_times() {  # PORT
	local off f
	off=$(awk -v r=$EPOCHREALTIME '{printf "%.3f", r - $1}' /proc/uptime)
	for f in $(find /sys/bus/usb/devices/$1/ -name uevent); do
		udevadm info -q property -p ${f%/uevent} |
			sed -n 's/^USEC_INITIALIZED=//p'
	done | sort -n | awk -v o=$off 'NR == 1 {a = $1} {b = $1}
		END {printf "%.3f %.3f\n", a / 1e6 + o, b / 1e6 + o}'
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


def cpu_usec(g):
    out = g.run(". /mnt/lab/probes.sh; cpu_usec")
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


def logged_at(journal, text):
    """The wall-clock time of the first journal line holding @text
    (journalctl -o short-unix), or NaN."""
    for line in journal.splitlines():
        if text in line:
            return float(line.split()[0])
    return float("nan")


def doing(samples, t0, t1):
    """What the sampler saw devpassd in between @t0 and @t1."""
    seen = {}
    for s in samples:
        if len(s) >= 2 and t0 <= float(s[0]) <= t1:
            key = s[1] + ("/" + s[2] if len(s) > 2 and s[1] != "R" else "")
            seen[key] = seen.get(key, 0) + 1
    return ", ".join(f"{k}: {n}" for k, n in sorted(seen.items())) or "-"


def scenario(u):
    g = u.g
    slow = float(os.environ.get("DEVPASS_LAB_SLOWDOWN",
                                "1" if g.accel == "kvm" else "3"))
    bound_s, status_ms = 2 * slow, 100 * slow
    with open(f"{g.share}/probes.sh", "w") as f:
        f.write(PROBES)
    shutil.copy(f"{os.environ['DEVPASS_BUILD_DIR']}/tests/control-probe",
                f"{g.share}/control-probe")
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
    cpu0 = cpu_usec(g)
    g.run(f"rm -f /tmp/storm.done /tmp/status.log /tmp/plug.t /tmp/unplug.t;"
          f" . /mnt/lab/probes.sh;"
          f" (storm {u.bus}-1 {STORM} {STORM_S} &) >/dev/null 2>&1;"
          f" (status_probe &) >/dev/null 2>&1;"
          f" (devpassd_sampler &) >/dev/null 2>&1;"
          f" (/mnt/lab/control-probe /run/devpass/control 100 /tmp/storm.done"
          f" > /tmp/probe.log &) 2>/dev/null;"
          f" (plug_probe {u.bus}-2 c2 &) >/dev/null 2>&1;"
          f" (unplug_probe {u.bus}-3 c3 &) >/dev/null 2>&1")
    time.sleep(3)
    g.device_add("usb-kbd", "kp", port=2, serial="PLUG")
    g.qmp("device_del", id="ku")
    g.wait("[ -e /tmp/storm.done ]", timeout=STORM_S + 60, interval=1)
    cpu1 = cpu_usec(g)
    t0, t1, written = g.run("cat /tmp/storm.done").split()
    t0, t1, written = float(t0), float(t1), int(written)
    lab.log(f"storm: {written} change uevents written in {t1 - t0:.1f} s")
    lab.log("CPU seconds during it: " + ", ".join(
        f"{k} {(cpu1[k] - cpu0[k]) / 1e6:.1f}" for k in cpu0) +
        f" (2 vCPUs: {2 * (t1 - t0):.0f} s at most)")
    g.wait("[ -e /tmp/plug.t ] && [ -e /tmp/unplug.t ]", timeout=300)
    p0, p1 = map(float, g.run("cat /tmp/plug.t").split())
    # The probe polls for the device in a loaded guest and may see it
    # late; udev's own first timestamp of it bounds the plug's time too.
    udev_first, udev_last = map(float, g.run(
        f". /mnt/lab/probes.sh; udev_times {u.bus}-2").split())
    p0 = min(p0, udev_first)
    q0, q1 = map(float, g.run("cat /tmp/unplug.t").split())
    lines = [line.split() for line in
             g.run("cat /tmp/status.log").splitlines()]
    rows = [r[1:] for r in lines if r[0] == "status"]
    ms = [(float(b) - float(a)) * 1000 for _, a, b in rows]
    control = [(float(b) - float(a)) * 1000 for w, _, a, b in lines
               if w == "--version"]
    bad = [r[0] for r in rows if r[0] != "0"]
    probe = [line.split() for line in
             g.run("cat /tmp/probe.log").splitlines()]
    answer = [float(t) for _, _, t in probe]
    bad += [f"errno {rc}" for rc, _, _ in probe if rc != "0"]
    slowest = sorted(probe, key=lambda x: -float(x[2]))[:5]
    lab.log(f"during the storm: plug to node in its container "
            f"{p1 - p0:.2f} s, unplug to node gone {q1 - q0:.2f} s, "
            f"devpass status asked {len(rows)} times: max {max(ms):.0f} ms, "
            f"median {statistics.median(ms):.0f} ms, {len(bad)} failed; "
            f"devpass --version beside it (no devpassd): max "
            f"{max(control):.0f} ms, median "
            f"{statistics.median(control):.0f} ms; devpassd's own answer "
            f"(one process asking every 0.1 s, {len(answer)} times): max "
            f"{max(answer):.0f} ms, median "
            f"{statistics.median(answer):.0f} ms")
    stamped = g.run("journalctl -u devpass --no-pager -o short-unix")
    plug_log = logged_at(stamped, "attached 10-kbd-PLUG")
    unplug_log = logged_at(stamped, "detached 10-kbd-UNPLUG")
    lab.log(f"the plug: udevd done with it and its children "
            f"+{udev_last - p0:.2f} s, devpassd's attach logged "
            f"+{plug_log - p0:.2f} s, node in c2 +{p1 - p0:.2f} s; "
            f"the unplug: detach logged +{unplug_log - q0:.2f} s, node gone "
            f"+{q1 - q0:.2f} s")
    journal = g.run("journalctl -u devpass --no-pager -o cat")
    lost = [line for line in journal.splitlines() if "uevents lost" in line
            or "overflow" in line or "ENOBUFS" in line]
    samples = [line.split() for line in
               g.run("cat /tmp/sampler.log").splitlines()]
    lab.log("devpassd's slowest answers, sent at (s after the plug), and "
            "what it was doing meanwhile (state/syscall: samples): " +
            "; ".join(f"{float(t):.0f} ms at {float(a) - p0:+.2f}: " +
                      doing(samples, float(a), float(a) + float(t) / 1e3)
                      for _, a, t in slowest))
    lab.log(f"log lines about lost uevents: {len(lost)}"
            + (f" (first: {lost[0]})" if lost else ""))
    # Nothing lost: each keyboard where it belongs once the storm is over.
    u.wait(f"in_ct c1 {' '.join(storm_nodes)}", 60)
    u.wait("[ -n \"$(compgen -G \"/proc/$(cpid c2)/root/dev/hidraw*\")\" ]",
           60)
    u.wait(f"none_in_ct c3 {' '.join(gone_nodes)} && "
           f"[ -z \"$(entries c3)\" ]", 60)
    errors, late = [], []
    if written < STORM_MIN:
        errors.append(f"only {written} uevents written in {STORM_S} s")
    if p1 - p0 > bound_s:
        late.append(f"the plugged keyboard took {p1 - p0:.1f} s "
                    f"(bound {bound_s:.0f} s)")
    if q1 - q0 > bound_s:
        late.append(f"the unplugged keyboard's node stayed {q1 - q0:.1f} s"
                    f" (bound {bound_s:.0f} s)")
    if max(answer) > status_ms:
        late.append(f"devpassd took up to {max(answer):.0f} ms to answer "
                    f"a status request (bound {status_ms:.0f} ms)")
    if late and not TIMED:
        lab.log("timing bounds not asserted here ($DEVPASS_LAB_STORM_TIMED"
                "=0), missed: " + "; ".join(late))
    elif late:
        errors += late
    if bad:
        errors.append(f"devpass status failed {len(bad)} of {len(rows)} "
                      f"times (exit codes {sorted(set(bad))})")
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
            timing = ("in time, devpass status answers in time throughout"
                      if TIMED else "and devpass status answers throughout"
                      " (times printed, not asserted)")
            tap.test(f"A storm of {STORM} change uevents: a plug and an "
                     f"unplug inside it are placed, {timing}", scenario, u)
            if tap.failed:
                print("# devpass journal:\n# " + g.run(
                    "journalctl -u devpass --no-pager -o cat | tail -40",
                    check=False).replace("\n", "\n# "))
    except lab.LabSkip as e:
        lab.main_skip(str(e))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
