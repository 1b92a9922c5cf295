#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""PCI on a real kernel with a real IOMMU (intel-iommu in the guest).

The guest (tests/lab/lab.py, machine "pci") has QEMU's std VGA at 00:01.0
(the boot VGA, which devpass leaves to the host) and, on root port rp1, a
second VGA (function 0, multifunction) with an ich9-intel-hda (function 1):
one IOMMU group of two endpoints. rp2 is empty, for hotplug. The guest's
LXD holds VMs (nested, under the guest's emulated SVM): devpass writes the
group's entries to vm1's stopped config, and vm1 is then started with
them, QEMU in the guest taking both functions through vfio-pci. The
devices are the guest's own (snapshot=on): nothing of the host is passed.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402

VGA_ID, HDA_ID, NIC_ID = "1234:1111", "8086:293e", "8086:10d3"


class PciLab:
    def __init__(self, g):
        self.g = g

    def setup(self):
        g = self.g
        g.install_devpass()
        # LXD's VM driver wants /dev/kvm: the guest's CPU (-cpu max under
        # TCG) emulates SVM, so kvm_amd may give it one.
        g.run("modprobe kvm_amd 2>/dev/null; ls -l /dev/kvm", check=False)
        g.start_lxd()
        rc, out = g.run_rc("lxc init --empty --vm vm1 -c limits.memory=256MiB "
                           "</dev/null", 300)
        self.no_vm = None if rc == 0 else out.strip().splitlines()[-1]
        if self.no_vm:
            lab.log(f"no LXD VM in this guest: {self.no_vm}")
        self.hda = self.addr(HDA_ID)
        # The VGA beside the HDA (rp1), not the boot VGA at 00:01.0.
        self.vga = self.hda.rsplit(".", 1)[0] + ".0"
        assert self.vga in self.g.run(f"lspci -D -n -d {VGA_ID}"), self.vga
        self.group = g.run(f"basename $(readlink "
                           f"/sys/bus/pci/devices/{self.vga}/iommu_group)"
                           ).strip()
        lab.log(f"VGA {self.vga} + HDA {self.hda}: IOMMU group {self.group}"
                f", drivers {self.driver(self.vga)} / "
                f"{self.driver(self.hda)}")

    def addr(self, ident):
        out = self.g.run(f"lspci -D -n -d {ident} | cut -d' ' -f1").split()
        assert len(out) == 1, f"{ident}: {out}"
        return out[0]

    def driver(self, a):
        return self.g.run(f"basename $(readlink /sys/bus/pci/devices/{a}/"
                          f"driver) 2>/dev/null || echo none").strip()

    def bind(self, a, drv):
        self.g.run(f"d=/sys/bus/pci/devices/{a}; "
                   f"echo {drv} > $d/driver_override; "
                   f"[ ! -e $d/driver ] || echo {a} > $d/driver/unbind; "
                   f"echo {a} > /sys/bus/pci/drivers_probe; "
                   f"[ $(basename $(readlink $d/driver)) = {drv} ]")

    def unbind_to_host(self, a):
        self.g.run(f"d=/sys/bus/pci/devices/{a}; echo > $d/driver_override; "
                   f"[ ! -e $d/driver ] || echo {a} > $d/driver/unbind; "
                   f"echo {a} > /sys/bus/pci/drivers_probe")

    def need_vm(self):
        if self.no_vm:
            raise lab.TestSkip(f"LXD creates no VM here ({self.no_vm})")

    def vm_pid(self, vm):
        return self.g.run(f"cat /var/lib/lxd/logs/{vm}/qemu.pid").strip()

    def vm_entries(self):
        devs = json.loads(self.g.run("lxc query /1.0/instances/vm1")
                          )["devices"]
        return {k: v for k, v in devs.items() if k.startswith("devpass-")}


def test_group_not_viable(p):
    out = p.g.run("devpass iommu")
    block = out.split(f"IOMMU group {p.group}:", 1)[1].split("IOMMU group")[0]
    lab.log("devpass iommu, the group:\n# " +
            f"IOMMU group {p.group}:{block}".rstrip().replace("\n", "\n# "))
    assert p.vga in block and p.hda in block, block
    assert "not viable" in block.splitlines()[0], block
    assert "snd_hda_intel" in block, block


def test_strict_refused(p):
    p.need_vm()
    g = p.g
    g.write_rule("70-vga", f"""[Match]
Subsystem=pci
Address={p.vga}

[Attach]
Instance=vm1
IommuGroup=strict
""")
    g.run("systemctl restart devpass")
    g.wait(f"devpass status | grep -q '{p.vga}'", 60)
    status = g.run("devpass status")
    line = [x for x in status.splitlines() if p.vga in x]
    lab.log("strict, HDA on snd_hda_intel: " + " | ".join(line))
    assert "snd_hda_intel" in status and p.hda in status, status
    assert not p.vm_entries(), p.vm_entries()


def test_lxd_fails_what_strict_refuses(p):
    """What strict spares the user: the same VGA, in a VM of its own
    (an entry that is not devpass's), makes `lxc start` fail in QEMU."""
    p.need_vm()
    g = p.g
    g.run("lxc init --empty --vm vm2 -c limits.memory=256MiB </dev/null && "
          f"lxc config device add vm2 lab-vga pci address={p.vga}")
    rc, out = g.run_rc("lxc start vm2 </dev/null", 300)
    why = g.run("lxc info --show-log vm2 | grep -i -A1 vfio", check=False)
    lab.log(f"lxc start, a VM holding the VGA alone: exit {rc}; its log: "
            + " | ".join(why.strip().splitlines()))
    g.run("lxc delete -f vm2")
    assert rc != 0, out
    assert f"group {p.group} is not viable" in why, why


def test_whole_writes_each_function(p):
    p.need_vm()
    g = p.g
    g.run("sed -i s/IommuGroup=strict/IommuGroup=whole/ "
          "/etc/devpass/rules.d/70-vga.rules && systemctl reload devpass")
    g.wait("lxc config device list vm1 | grep -c ^devpass- | grep -qx 2", 90)
    ents = p.vm_entries()
    addrs = sorted(e.get("address") for e in ents.values())
    lab.log(f"whole: {sorted(ents)} -> {addrs}")
    assert addrs == sorted([p.vga, p.hda]), ents
    assert all(e["type"] == "pci" for e in ents.values()), ents
    assert g.run("lxc list vm1 -c s --format csv").strip() == "STOPPED"


def test_viable_on_vfio(p):
    g = p.g
    g.run("systemctl stop devpass; modprobe vfio-pci")
    p.bind(p.vga, "vfio-pci")
    assert "not viable" in p.g.run("devpass iommu").split(
        f"IOMMU group {p.group}:", 1)[1].splitlines()[0]
    p.bind(p.hda, "vfio-pci")
    first = p.g.run("devpass iommu").split(
        f"IOMMU group {p.group}:", 1)[1].splitlines()[0]
    lab.log(f"both on vfio-pci: IOMMU group {p.group}:{first}")
    assert "viable for a VM" in first and "not" not in first, first


def test_vm_starts_with_the_group(p):
    p.need_vm()
    g = p.g
    g.run("systemctl start devpass")
    t0 = time.monotonic()
    g.run("lxc start vm1 </dev/null", 300)
    g.wait("lxc list vm1 -c s --format csv | grep -qx RUNNING", 120)
    started = time.monotonic() - t0
    held = g.run(f"ls -l /proc/{p.vm_pid('vm1')}/fd | "
                 f"grep -c '/dev/vfio/{p.group}$'", check=False).strip()
    entries = sorted(e.get("address") for e in p.vm_entries().values())
    lab.log(f"vm1 running {started:.1f} s after lxc start, with "
            f"{entries}; its QEMU holds /dev/vfio/{p.group} ({held} fd)")
    g.run("lxc stop -f vm1", 120)
    assert entries == sorted([p.vga, p.hda]), entries
    assert held not in ("", "0"), held


def test_strict_on_vfio_writes(p):
    p.need_vm()
    g = p.g
    g.run("systemctl stop devpass; "
          "lxc config device list vm1 | grep ^devpass- | "
          "xargs -r -n1 lxc config device remove vm1 >/dev/null")
    g.run("sed -i s/IommuGroup=whole/IommuGroup=strict/ "
          "/etc/devpass/rules.d/70-vga.rules && systemctl start devpass")
    g.wait("lxc config device list vm1 | grep -q ^devpass-", 90)
    ents = p.vm_entries()
    assert [e.get("address") for e in ents.values()] == [p.vga], ents


def test_pci_hotplug(p):
    g = p.g
    g.run("systemctl is-active -q devpass || systemctl start devpass")
    g.write_rule("75-nic", f"""[Match]
Subsystem=pci
Vendor=8086
Product=10d3

[Attach]
Instance=vm1
IommuGroup=ignore
""")
    g.run("systemctl reload devpass")
    t0 = time.monotonic()
    g.device_add("e1000e", "nic1", bus="rp2")
    g.wait(f"lspci -n -d {NIC_ID} | grep -q .", 60)
    nic = p.addr(NIC_ID)
    g.wait(f"devpass list | grep -q '{nic}'", 60)
    if not p.no_vm:
        g.wait(f"lxc query /1.0/instances/vm1 | grep -q "
               f"'\"address\": \"{nic}\"'", 90)
    lab.log(f"e1000e at {nic}: in devpass list"
            f"{'' if p.no_vm else ' and vm1' + chr(39) + 's config'} "
            f"{time.monotonic() - t0:.1f} s after device_add")
    g.device_del("nic1")
    g.wait(f"! devpass list | grep -q '{nic}'", 60)
    if not p.no_vm:
        g.wait(f"! lxc query /1.0/instances/vm1 | grep -q '\"address\": "
               f"\"{nic}\"'", 90)
        assert [e.get("address") for e in p.vm_entries().values()] == \
            [p.vga]


TESTS = [
    ("devpass iommu: the VGA + HDA group is not viable while HDA is on "
     "snd_hda_intel, and names it", test_group_not_viable),
    ("IommuGroup=strict refuses the VGA while HDA is on a host driver, "
     "naming it", test_strict_refused),
    ("LXD itself fails to start a VM holding the VGA alone while HDA is on "
     "a host driver (QEMU: group not viable)",
     test_lxd_fails_what_strict_refuses),
    ("IommuGroup=whole writes a pci entry per function to the stopped VM",
     test_whole_writes_each_function),
    ("After both functions are bound to vfio-pci the group is viable",
     test_viable_on_vfio),
    ("Nested: the VM starts with the whole group devpass wrote, its QEMU "
     "holding the group through vfio-pci", test_vm_starts_with_the_group),
    ("IommuGroup=strict, group on vfio-pci: the VGA's entry is written",
     test_strict_on_vfio_writes),
    ("PCI hotplug: an e1000e on an empty root port is listed and placed; "
     "device_del removes it and its entry", test_pci_hotplug),
]


def main():
    tap = lab.Tap()
    try:
        with lab.Lab(machine="pci") as g:
            p = PciLab(g)
            if not tap.test("The lab guest boots with an IOMMU, devpass "
                            "and LXD", p.setup):
                return tap.done()
            for title, fn in TESTS:
                tap.test(title, fn, p)
            if tap.failed:
                print("# devpass journal:\n# " + g.run(
                    "journalctl -u devpass --no-pager -o cat | tail -40",
                    check=False).replace("\n", "\n# "))
    except lab.LabSkip as e:
        lab.main_skip(str(e))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
