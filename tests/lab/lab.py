#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The hardware lab: devpass on a real kernel in a QEMU guest.

A Debian 12 guest (debootstrap --variant=minbase bookworm, Debian's own
linux-image-amd64 kernel unpacked beside it, a busybox initramfs, systemd,
udev, LXD and devpass's runtime libraries) is built once and cached under
/var/cache/devpass-lab/KEY, KEY being a hash of the package list, the
kernel package's version and the recipe below: a change of any of them
builds a new image and removes the stale one. The guest boots from it
under QEMU with snapshot=on (the cached image is never written).

Guest-control API (for any lab test; see test-lab-usb.py):

    with lab.Lab(machine="usb") as g:     # or "pci": q35 + intel-iommu,
                                          # VGA + HDA on one root port,
                                          # empty root ports for hotplug
        g.run("cmd", timeout=60)          # a shell command in the guest
                                          # (bash -c, as root, stdout and
                                          # stderr together); raises
                                          # LabError on exit != 0 unless
                                          # check=False; returns the text
        g.rc("cmd")                       # only the exit code
        g.qmp("device_add", driver="usb-kbd", id="k1", bus="xhci.0")
        g.device_add("usb-kbd", "k1", port="3", serial="KBD1")
        g.device_del("k1")                # waits for DEVICE_DELETED
        g.chardev_file("ser0", path)      # a chardev that writes to a file
        g.install_devpass()               # `meson install --destdir` of
                                          # $DEVPASS_BUILD_DIR, copied in
        g.start_lxd("c1", "c2")           # the guest's own LXD
                                          # (tests/lxd/lxd-env.sh in the
                                          # guest) + busybox containers
        g.write_rule("10-x", text)        # /etc/devpass/rules.d/10-x.rules
        g.wait(cmd, timeout=...)          # until cmd exits 0
        g.share                           # a host folder seen by the guest
                                          # at /mnt/lab (9p)

The host talks to the guest through a virtio-serial port (the guest's
agent, ROOT/usr/lib/devpass-lab/agent, runs each command it is sent and
answers with its exit code and output) and to QEMU through QMP. QEMU runs
with KVM when /dev/kvm can run the guest, else TCG (the output says
which). Everything goes on exit, on an exception and on SIGTERM/SIGINT/
SIGHUP: QEMU (also given PR_SET_PDEATHSIG, so a SIGKILLed test takes it
along), its temporary folder (QMP socket, console log, the snapshot's
overlay). Building the image mounts nothing itself; debootstrap's own
mounts inside the build folder are undone on failure, and a build folder
left by a killed build is removed by the next one.

Run by hand:  tests/lab/lab.py image   (build or reuse the image)
              tests/lab/lab.py shell   (boot, then read commands on stdin)
"""

import base64
import contextlib
import ctypes
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CACHE = os.environ.get("DEVPASS_LAB_CACHE", "/var/cache/devpass-lab")
SUITE = "bookworm"

# What the guest has beyond minbase. devpassd's runtime libraries are
# those of its build (libudev, libpci, libcurl, json-c); LXD will not
# start without `ip` (iproute2); its VM driver (the PCI lab's VMs) wants
# QEMU and OVMF: without the firmware LXD's feature check fails ("could not
# load PC BIOS '/usr/share/OVMF/OVMF_CODE.fd'") and it creates no VM.
PACKAGES = [
    "systemd", "systemd-sysv", "udev", "dbus", "kmod", "procps", "iproute2",
    "busybox-static", "lxd", "lxd-client", "pciutils", "usbutils",
    "libudev1", "libpci3", "libcurl4", "libjson-c5", "qemu-system-x86",
    "ovmf",
]

# The modules the initramfs needs to mount the root (with their
# dependencies from modules.dep; built-in ones are skipped). ext4 wants
# crc32c by name, a soft dependency modules.dep does not list.
INITRD_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"]

AGENT = r"""#!/bin/bash
# devpass lab agent: runs each command the host sends on the virtio-serial
# port "lab" and answers with its exit code and output, base64-framed:
#   host -> guest:  ID TIMEOUT BASE64(command)
#   guest -> host:  ID RC BASE64(output)
# A read returns EOF while the host is not connected: open again then.
export LXD_DIR=/var/lib/lxd LXD_CONF=/var/lib/lxd/client
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
port=/dev/virtio-ports/lab
while :; do
	while [ ! -e $port ]; do sleep 0.2; done
	exec 3<>$port
	while read -r id t b64 <&3; do
		cmd=$(printf %s "$b64" | base64 -d)
		out=$(timeout -k 5 "$t" bash -c "$cmd" 2>&1 </dev/null)
		rc=$?
		printf '%s %s %s\n' "$id" "$rc" "$(printf %s "$out" | base64 -w0)" >&3
	done
	exec 3<&-
	sleep 0.2
done
"""

AGENT_UNIT = """[Unit]
Description=devpass lab agent (the host's commands over virtio-serial)
DefaultDependencies=no
After=systemd-udevd.service local-fs.target

[Service]
ExecStart=/usr/lib/devpass-lab/agent
Restart=always
RestartSec=1

[Install]
WantedBy=sysinit.target
"""

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod /modules/$m 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /newroot
mount -t ext4 -o rw /dev/vda /newroot || { echo "lab initramfs: no root"; sleep 5; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /lib/systemd/systemd
"""

# Bumped when the recipe changes in a way the hashed texts do not show.
RECIPE = 1


class LabError(Exception):
    pass


class LabSkip(Exception):
    """QEMU cannot run here at all."""


class TestSkip(Exception):
    """One lab test cannot run here (TAP "# SKIP" with the reason)."""


def log(msg):
    print(f"# lab: {msg}", flush=True)


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          **kw).stdout


# ---------------------------------------------------------------- the image

def mirror():
    """The Debian mirror the host's apt uses (its bookworm source)."""
    if os.environ.get("DEVPASS_LAB_MIRROR"):
        return os.environ["DEVPASS_LAB_MIRROR"]
    uri = None
    for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in open(f).read().split("\n\n"):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
            if SUITE in fields.get("Suites", "").split() and \
                    fields.get("URIs", "").rstrip("/").endswith("/debian"):
                uri = fields["URIs"].split()[0]
    if not uri and os.path.exists("/etc/apt/sources.list"):
        m = re.search(rf"^deb\s+(\S+/debian)/?\s+{SUITE}\s",
                      open("/etc/apt/sources.list").read(), re.M)
        uri = m and m.group(1)
    if not uri:
        raise LabError("no Debian bookworm source in /etc/apt: "
                       "set DEVPASS_LAB_MIRROR")
    return uri


def kernel_package():
    """(package, version) of the kernel linux-image-amd64 depends on."""
    out = sh("apt-cache", "depends", "linux-image-amd64")
    m = re.search(r"Depends: (linux-image-\S+-amd64)", out)
    if not m:
        raise LabError("apt-cache knows no linux-image-amd64 "
                       "(apt-get update?)")
    pkg = m.group(1)
    pol = sh("apt-cache", "policy", pkg)
    ver = re.search(r"Candidate: (\S+)", pol).group(1)
    return pkg, ver


def cache_key(kpkg, kver):
    h = hashlib.sha256()
    h.update(json.dumps([RECIPE, SUITE, sorted(PACKAGES), INITRD_MODULES,
                         kpkg, kver, AGENT, AGENT_UNIT, INIT]).encode())
    return h.hexdigest()[:16]


def unmount_under(path):
    mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
    for m in sorted(mounts, reverse=True):
        if m == path or m.startswith(path + "/"):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)


def remove_tree(path):
    unmount_under(path)
    shutil.rmtree(path, ignore_errors=True)


def sweep_cache(keep):
    """Stale images (another key) and build folders of dead builds."""
    for d in glob.glob(os.path.join(CACHE, "*")):
        name = os.path.basename(d)
        if name == keep or name == "lock":
            continue
        log(f"removing stale {d}")
        remove_tree(d)
    for d in glob.glob(os.path.join(CACHE, ".build-*")):
        remove_tree(d)


def initrd_modules(root, kver):
    """modules.order for the initramfs: INITRD_MODULES and their deps."""
    mdir = f"{root}/lib/modules/{kver}"
    deps = {}
    for line in open(f"{mdir}/modules.dep"):
        mod, _, rest = line.partition(":")
        deps[mod] = rest.split()
    by_name = {re.sub(r"\.ko(\.\w+)?$", "", os.path.basename(m))
               .replace("-", "_"): m for m in deps}
    order = []

    def add(m):
        for d in reversed(deps[m]):
            add(d)
        if m not in order:
            order.append(m)
    for name in INITRD_MODULES:
        if name in by_name:
            add(by_name[name])
    return mdir, order


def build_initrd(root, kver, out):
    work = tempfile.mkdtemp(prefix="initrd-", dir=os.path.dirname(out))
    try:
        for d in ("bin", "proc", "sys", "dev", "modules", "newroot"):
            os.makedirs(f"{work}/{d}")
        shutil.copy(f"{root}/bin/busybox", f"{work}/bin/busybox")
        mdir, order = initrd_modules(root, kver)
        names = []
        for m in order:
            src = f"{mdir}/{m}"
            name = os.path.basename(m)
            if name.endswith(".xz"):
                sh("sh", "-c", f"xz -dc '{src}' > '{work}/modules/{name[:-3]}'")
                name = name[:-3]
            else:
                shutil.copy(src, f"{work}/modules/{name}")
            names.append(name)
        with open(f"{work}/modules.order", "w") as f:
            f.write("\n".join(names) + "\n")
        with open(f"{work}/init", "w") as f:
            f.write(INIT)
        os.chmod(f"{work}/init", 0o755)
        subprocess.run(f"cd '{work}' && find . | cpio -o -H newc --quiet "
                       f"| gzip -1 > '{out}'", shell=True, check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def symlink(target, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(target, path)


def configure_root(root):
    write(f"{root}/etc/hostname", "devpass-lab\n")
    write(f"{root}/etc/fstab", "/dev/vda / ext4 rw 0 0\n")
    write(f"{root}/usr/lib/devpass-lab/agent", AGENT, 0o755)
    write(f"{root}/etc/systemd/system/devpass-lab-agent.service", AGENT_UNIT)
    symlink("/etc/systemd/system/devpass-lab-agent.service",
            f"{root}/etc/systemd/system/sysinit.target.wants/"
            "devpass-lab-agent.service")
    # The guest's LXD is started by the lab (lxd-env.sh) in /var/lib/lxd,
    # which must be empty then; nothing else is to compete for the time.
    for unit in ("lxd.service", "lxd.socket", "lxcfs.service",
                 "apt-daily.timer", "apt-daily-upgrade.timer",
                 "e2scrub_all.timer", "fstrim.timer", "getty@tty1.service",
                 "serial-getty@ttyS0.service", "systemd-timesyncd.service"):
        symlink("/dev/null", f"{root}/etc/systemd/system/{unit}")
    shutil.rmtree(f"{root}/var/lib/lxd", ignore_errors=True)
    os.makedirs(f"{root}/mnt/lab", exist_ok=True)
    os.makedirs(f"{root}/etc/devpass/rules.d", exist_ok=True)
    shutil.rmtree(f"{root}/var/cache/apt", ignore_errors=True)
    for f in glob.glob(f"{root}/var/lib/apt/lists/*_Packages"):
        os.unlink(f)


def build_image(dest, kpkg):
    tmp = tempfile.mkdtemp(prefix=".build-", dir=CACHE)
    root = f"{tmp}/root"
    try:
        t0 = time.monotonic()
        log(f"building the guest image in {tmp} (debootstrap {SUITE})")
        r = subprocess.run(
            ["debootstrap", "--variant=minbase",
             "--include=" + ",".join(PACKAGES), SUITE, root, mirror()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            print(r.stdout[-4000:])
            raise LabError("debootstrap failed")
        unmount_under(root)
        # The kernel: Debian's package, unpacked (not installed: no
        # initramfs-tools, no postinst); its modules go into the root.
        kdir = f"{tmp}/kernel"
        os.makedirs(kdir)
        sh("apt-get", "download", kpkg, cwd=kdir)
        deb = glob.glob(f"{kdir}/*.deb")[0]
        sh("dpkg-deb", "-x", deb, f"{kdir}/x")
        kver = os.path.basename(glob.glob(f"{kdir}/x/lib/modules/*")[0])
        shutil.copytree(f"{kdir}/x/lib/modules/{kver}",
                        f"{root}/lib/modules/{kver}", symlinks=True)
        sh("chroot", root, "/sbin/depmod", "-a", kver)
        configure_root(root)
        out = f"{tmp}/image"
        os.makedirs(out)
        shutil.copy(glob.glob(f"{kdir}/x/boot/vmlinuz-*")[0],
                    f"{out}/vmlinuz")
        build_initrd(root, kver, f"{out}/initrd.img")
        # The root file system, filled from the folder: no loop mount.
        with open(f"{out}/root.img", "wb") as f:
            f.truncate(4 << 30)
        sh("mkfs.ext4", "-q", "-F", "-L", "lab-root", "-d", root,
           f"{out}/root.img")
        write(f"{out}/kernel-version", kver + "\n")
        os.rename(out, dest)
        log(f"image built in {time.monotonic() - t0:.0f} s: {dest}")
    finally:
        remove_tree(tmp)


def ensure_image():
    """The cached image's folder, built first if missing or stale."""
    if os.geteuid() != 0:
        raise LabSkip("the lab needs root (debootstrap, QEMU)")
    for tool in ("qemu-system-x86_64", "debootstrap", "mkfs.ext4", "cpio"):
        if not shutil.which(tool):
            raise LabSkip(f"{tool} is not installed")
    os.makedirs(CACHE, exist_ok=True)
    kpkg, kver = kernel_package()
    key = cache_key(kpkg, kver)
    dest = os.path.join(CACHE, key)
    with open(os.path.join(CACHE, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(f"{dest}/root.img"):
            log(f"image cached: {dest} ({kpkg} {kver})")
        else:
            sweep_cache(key)
            build_image(dest, kpkg)
    return dest


# ---------------------------------------------------------------- the guest

def accel():
    """("kvm"|"tcg", why): KVM only where it can run this guest."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg", "no usable /dev/kvm"
    if os.path.exists("/sys/module/kvm_pvm"):
        return "tcg", "/dev/kvm is PVM, which cannot run Debian's kernel"
    cpu = open("/proc/cpuinfo").read()
    if not re.search(r"\b(vmx|svm)\b", cpu):
        return "tcg", "the CPU shows no vmx/svm"
    return "kvm", "/dev/kvm with vmx/svm"


def _pdeathsig():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


MACHINES = {
    # USB on qemu-xhci (8 USB2 and 8 USB3 ports).
    "usb": ["-device", "qemu-xhci,id=xhci,p2=8,p3=8"],
    # A real IOMMU; VGA + HDA as two functions of one device on one root
    # port (one group); empty root ports for hotplug; xhci for USB too.
    "pci": ["-vga", "std", "-device", "intel-iommu,intremap=on",
            "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
            "-device", "VGA,bus=rp1,addr=00.0,multifunction=on",
            "-device", "ich9-intel-hda,bus=rp1,addr=00.1",
            "-device", "pcie-root-port,id=rp2,chassis=2,slot=2",
            "-device", "pcie-root-port,id=rp3,chassis=3,slot=3",
            "-device", "qemu-xhci,id=xhci,p2=8,p3=8"],
}


class Lab:
    def __init__(self, machine="usb", memory=2048, cpus=2,
                 boot_timeout=600):
        self.machine = machine
        self.memory = memory
        self.cpus = cpus
        self.boot_timeout = boot_timeout
        self.proc = None
        self.tmp = None
        self.sock = None
        self.qmp_sock = None
        self.events = []
        self._buf = b""
        self._qbuf = b""
        self._id = 0
        self._old_handlers = {}

    # -- lifetime
    def __enter__(self):
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[s] = signal.signal(s, self._on_signal)
        # A killed `meson test` leaves its tests running (each has its own
        # process group): take its death as a SIGTERM, so the guest goes
        # now rather than when the test would have ended.
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        for s, h in self._old_handlers.items():
            signal.signal(s, h)

    @staticmethod
    def _on_signal(signo, frame):
        raise SystemExit(128 + signo)

    def start(self):
        image = ensure_image()
        kind, why = accel()
        self.accel = kind
        self.tmp = tempfile.mkdtemp(prefix="devpass-lab.")
        self.share = f"{self.tmp}/share"
        os.makedirs(self.share)
        self.console = f"{self.tmp}/console.log"
        # no_timer_check: under TCG on a loaded machine the kernel's
        # check that the timer ticks through the IO-APIC can run out of
        # time ("timer doesn't work through Interrupt-remapped IO-APIC",
        # a panic, seen here with intel-iommu).
        cmdline = ("console=ttyS0 root=/dev/vda rw apparmor=0 "
                   "loglevel=5 panic=-1 net.ifnames=0 no_timer_check "
                   "systemd.show_status=0")
        if self.machine == "pci":
            cmdline += " intel_iommu=on"
        if kind == "kvm":
            acc = ["-accel", "kvm", "-cpu", "host"]
        else:
            acc = ["-accel", "tcg,thread=multi", "-cpu", "max"]
        log(f"QEMU accelerator: {kind} ({why}); machine {self.machine}")
        args = ["qemu-system-x86_64", *acc,
                "-M", "q35,kernel-irqchip=split" if self.machine == "pci"
                else "q35",
                "-m", str(self.memory), "-smp", str(self.cpus),
                "-kernel", f"{image}/vmlinuz",
                "-initrd", f"{image}/initrd.img", "-append", cmdline,
                "-drive", f"file={image}/root.img,format=raw,if=virtio,"
                "snapshot=on,cache=unsafe",
                "-display", "none", "-monitor", "none", "-nic", "none",
                "-audiodev", "none,id=noaudio",
                "-serial", f"file:{self.console}", "-no-reboot",
                "-qmp", f"unix:{self.tmp}/qmp.sock,server=on,wait=off",
                "-chardev", f"socket,id=lab,path={self.tmp}/lab.sock,"
                "server=on,wait=off",
                "-device", "virtio-serial-pci",
                "-device", "virtserialport,chardev=lab,name=lab",
                "-virtfs", f"local,path={self.share},mount_tag=lab,"
                "security_model=none,id=labfs",
                *MACHINES[self.machine]]
        # snapshot=on puts its overlay in $TMPDIR: ours, removed with it.
        env = dict(os.environ, TMPDIR=self.tmp)
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                     stdout=open(f"{self.tmp}/qemu.out", "w"),
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=_pdeathsig)
        self._connect()
        self._wait_agent()
        log(f"guest agent up in {time.monotonic() - self.t_start:.1f} s "
            f"(kernel {self.run('uname -r').strip()})")
        state = self.run("systemctl is-system-running --wait", check=False,
                         timeout=self.boot_timeout).strip()
        log(f"guest booted ({state}) in "
            f"{time.monotonic() - self.t_start:.1f} s")
        self.run("mount -t 9p -o trans=virtio,version=9p2000.L lab /mnt/lab")

    def _connect(self):
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise LabError("QEMU exited: " +
                               open(f"{self.tmp}/qemu.out").read()[-2000:])
            try:
                q = socket.socket(socket.AF_UNIX)
                q.connect(f"{self.tmp}/qmp.sock")
                s = socket.socket(socket.AF_UNIX)
                s.connect(f"{self.tmp}/lab.sock")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.qmp_sock, self.sock = q, s
        self._qmp_read()  # greeting
        self.qmp("qmp_capabilities")

    def _wait_agent(self):
        # A ping every 10 s until one is answered: any of them (a slow
        # guest answers the first late; waiting only for the last would
        # never catch up).
        deadline = time.monotonic() + self.boot_timeout
        pings = set()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabError("QEMU exited during boot: " +
                               open(f"{self.tmp}/qemu.out").read()[-2000:] +
                               "\nconsole:\n" + self.console_tail())
            try:
                self._id += 1
                pings.add(str(self._id))
                ping = base64.b64encode(b"true").decode()
                self.sock.sendall(f"{self._id} 20 {ping}\n".encode())
                if self._reply(pings, time.monotonic() + 10):
                    return
            except OSError:
                time.sleep(0.5)
                if self.proc.poll() is not None:
                    continue
                raise
        raise LabError(f"no agent in the guest after {self.boot_timeout} s; "
                       "console:\n" + self.console_tail())

    def console_tail(self, n=3000):
        try:
            return open(self.console, errors="replace").read()[-n:]
        except OSError:
            return ""

    def close(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.qmp("quit")
            except Exception:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for s in (self.sock, self.qmp_sock):
            if s:
                s.close()
        self.sock = self.qmp_sock = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # -- commands in the guest
    def _reply(self, idents, deadline):
        """(rc, output) of the reply to one of @idents, or None by
        @deadline."""
        while True:
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                parts = line.decode().split(" ")
                if len(parts) >= 2 and parts[0] in idents:
                    out = base64.b64decode(parts[2]) if len(parts) > 2 else b""
                    return int(parts[1]), out.decode(errors="replace")
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise LabError("the guest's agent hung up" + self._death())
            self._buf += chunk

    def _send(self, cmd, timeout, wait):
        self._id += 1
        ident = str(self._id)
        b64 = base64.b64encode(cmd.encode()).decode()
        try:
            self.sock.sendall(f"{ident} {int(timeout)} {b64}\n".encode())
        except OSError as e:
            raise LabError(f"the guest's agent is gone ({e})" +
                           self._death()) from None
        r = self._reply({ident}, time.monotonic() + wait)
        if r is None:
            raise TimeoutError(cmd)
        return r

    def _death(self):
        """What became of QEMU, and the console's tail (a guest panic
        reaches only the console), for an agent that went away."""
        code = self.proc.poll()
        qemu = "runs" if code is None else f"exited {code}"
        return f"; QEMU {qemu}; console:\n" + self.console_tail()

    def run_rc(self, cmd, timeout=120):
        """(exit code, output) of @cmd in the guest."""
        return self._send(cmd, timeout, wait=timeout + 30)

    def rc(self, cmd, timeout=120):
        return self.run_rc(cmd, timeout)[0]

    def run(self, cmd, timeout=120, check=True):
        rc, out = self.run_rc(cmd, timeout)
        if check and rc != 0:
            raise LabError(f"in the guest: {cmd!r} exited {rc}:\n{out}")
        return out

    def wait(self, cmd, timeout=30, interval=0.2):
        """Seconds until @cmd exits 0 in the guest (polled there)."""
        t0 = time.monotonic()
        loop = (f"end=$(($(date +%s%N) + {int(timeout * 1e9)})); "
                f"until {cmd}; do [ $(date +%s%N) -lt $end ] || exit 1; "
                f"sleep {interval}; done")
        self.run(loop, timeout=timeout + 10)
        return time.monotonic() - t0

    # -- QMP
    def _qmp_read(self):
        while b"\n" not in self._qbuf:
            self.qmp_sock.settimeout(60)
            chunk = self.qmp_sock.recv(65536)
            if not chunk:
                raise LabError("QMP closed")
            self._qbuf += chunk
        line, self._qbuf = self._qbuf.split(b"\n", 1)
        return json.loads(line)

    def qmp(self, execute, **arguments):
        msg = {"execute": execute}
        if arguments:
            msg["arguments"] = arguments
        self.qmp_sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._qmp_read()
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                raise LabError(f"QMP {execute}: {r['error']}")
            elif "return" in r:
                return r["return"]

    def wait_event(self, name, pred=lambda e: True, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if e["event"] == name and pred(e):
                    self.events.remove(e)
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabError(f"no QMP event {name} in {timeout} s")
            self.qmp_sock.settimeout(left)
            try:
                r = self._qmp_read()
            except socket.timeout:
                continue
            if "event" in r:
                self.events.append(r)

    def device_add(self, driver, ident, bus="xhci.0", **props):
        self.qmp("device_add", driver=driver, id=ident, bus=bus,
                 **{k: str(v) for k, v in props.items()})

    def device_del(self, ident, timeout=60):
        self.qmp("device_del", id=ident)
        self.wait_event("DEVICE_DELETED",
                        lambda e: e.get("data", {}).get("device") == ident,
                        timeout)

    def chardev_file(self, ident, path):
        self.qmp("chardev-add", id=ident,
                 backend={"type": "file", "data": {"out": path}})

    # -- devpass and LXD in the guest
    def install_devpass(self, build_dir=None):
        """meson install --destdir of the build under test, copied in."""
        build_dir = build_dir or os.environ["DEVPASS_BUILD_DIR"]
        require_debian_layout(build_dir)
        stage = f"{self.share}/stage"
        sh("meson", "install", "-C", build_dir, "--no-rebuild", "--quiet",
           "--destdir", stage)
        # where the build put the unit (Debian's: /lib/systemd/system)
        units = glob.glob(f"{stage}/**/systemd/system/devpass.service",
                          recursive=True)
        self.unit_path = units[0][len(stage):] if units else None
        self.run("cp -a /mnt/lab/stage/. / && rm -rf /mnt/lab/stage && "
                 "systemctl daemon-reload")

    def start_lxd(self, *containers):
        src = os.environ.get("DEVPASS_SOURCE_DIR",
                             os.path.dirname(os.path.dirname(
                                 os.path.dirname(os.path.abspath(__file__)))))
        shutil.copy(f"{src}/tests/lxd/lxd-env.sh", f"{self.share}/lxd-env.sh")
        self.run("install -m 755 /mnt/lab/lxd-env.sh /usr/local/bin/ && "
                 "LXD_ENV_WAIT=400 lxd-env.sh start /var/lib/lxd", timeout=600)
        if containers:
            self.run("lxd-env.sh launch /var/lib/lxd " + " ".join(containers),
                     timeout=120 + 120 * len(containers))

    def write_rule(self, name, text):
        b64 = base64.b64encode(text.encode()).decode()
        self.run(f"echo {b64} | base64 -d > /etc/devpass/rules.d/{name}.rules"
                 f" && chmod 644 /etc/devpass/rules.d/{name}.rules")


# ------------------------------------------------------------- test driver

def require_debian_layout(build_dir):
    """The lab installs devpass as Debian would (prefix /usr): its unit
    then reads /etc/devpass/rules.d, where write_rule() puts the rules. A
    build of another prefix would read elsewhere and load none."""
    out = subprocess.run(["meson", "introspect", "--buildoptions", build_dir],
                         check=True, capture_output=True, text=True).stdout
    opts = {o["name"]: o["value"] for o in json.loads(out)}
    if (opts["prefix"], opts["sysconfdir"]) not in (("/usr", "/etc"),
                                                    ("/usr", "etc")):
        raise LabError(f"{build_dir} is configured with prefix "
                       f"{opts['prefix']} (sysconfdir {opts['sysconfdir']}); "
                       "the lab needs Debian's layout: meson setup "
                       "--prefix=/usr (rules in /etc/devpass/rules.d)")


class Tap:
    """A TAP stream for meson (protocol: 'tap'): one line per lab test."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def test(self, title, fn, *args):
        self.n += 1
        t0 = time.monotonic()
        try:
            fn(*args)
        except TestSkip as e:
            print(f"ok {self.n} - {title} # SKIP {e}", flush=True)
            return True
        except Exception as e:
            self.failed += 1
            msg = str(e).replace("\n", "\n# ")
            print(f"# {msg}")
            print(f"not ok {self.n} - {title}", flush=True)
            return False
        print(f"ok {self.n} - {title} ({time.monotonic() - t0:.1f} s)",
              flush=True)
        return True

    def done(self):
        print(f"1..{self.n}", flush=True)
        return 1 if self.failed else 0


def main_skip(reason):
    print(f"1..0 # SKIP {reason}", flush=True)
    sys.exit(77)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "image"
    if what == "image":
        print(ensure_image())
    elif what == "shell":
        with Lab(machine=sys.argv[2] if len(sys.argv) > 2 else "usb") as g:
            for line in sys.stdin:
                rc, out = g.run_rc(line)
                print(out, end="" if out.endswith("\n") else "\n")
                print(f"[rc {rc}]", flush=True)
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
