"""The lab instance: a Debian userland reached over SSH, as the flow reaches an EC2 instance.

The local sandbox's "instance" is this machine over a local connection, as the same user. The
lab is closer to a fresh cloud image:

- **The image** is a Debian root filesystem built from Debian's packages with ``mmdebstrap``:
  what a cloud image has (python3, python3-apt, sudo, openssh-server, ca-certificates) and a
  non-root login user (``admin``, as on Debian's cloud images) with passwordless sudo, as
  cloud-init sets it up. The packages the ``awscli`` role installs with apt (awscli,
  python3-venv and what they depend on) are downloaded at build time into a local apt
  repository inside the image, the image's only apt source: installing them in a test reads
  no network. The tree is cached outside the checkout (``KEYLESS_LAB_CACHE``, by default
  ``~/.cache/keyless.aws/lab``) under a key derived from its recipe, so later runs skip the
  build. Nothing here pins a digest of its own: apt (inside ``mmdebstrap``) checks the archive's
  signed ``InRelease`` against the host's Debian archive keyring and every package against the
  SHA256 that signed index lists, and refuses what does not match.
- **An instance** is that image under a private, writable overlay, with its own mount, PID,
  UTS and IPC namespaces, running ``sshd`` on a loopback port. What cloud-init would write at
  first boot is written then: fresh SSH host keys, the login user's authorized key, the host
  name, and the image's AWS configuration (``~/.aws/config`` of the login user), which is
  the only place the local AWS endpoint and metadata service emulator are named.
- **Ansible reaches it as it reaches EC2**: SSH with a generated key and a checked host key,
  ``become`` (sudo) for installs, pipelining and ControlPersist from an ``ansible.cfg``.

Everything listens on 127.0.0.1; nothing uses the link-local metadata address. Building and
starting need root (``mmdebstrap``, ``mount``, ``chroot``), which this project's machines have.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from launcher import Started

SUITE = "trixie"  # Debian 13: its awscli (2.23) honours endpoint_url (from 2.13); Debian 12's is 2.9
DEBIAN_MIRROR = "http://deb.debian.org/debian"
IMAGE_PACKAGES = ("python3", "python3-apt", "sudo", "openssh-server", "ca-certificates")
# What the awscli role installs with apt, offered by the image's local repository: the CLI
# (apt method); what Ansible's pip module and a venv need (pip method); unzip (bundle method).
LOCAL_REPOSITORY_PACKAGES = ("awscli", "python3-venv", "python3-packaging", "unzip")
LOGIN_USER = "admin"
REPOSITORY_DIR = "srv/lab-apt"
# Bumped whenever the build below changes what it makes (the recipe names it).
BUILD_FORMAT = 1
COMPLETE_MARK = ".keyless-lab-image"
# Where Debian keeps the certificate authorities a machine adds to the distribution's.
LOCAL_AUTHORITIES = Path("/usr/local/share/ca-certificates")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


def recipe() -> dict[str, object]:
    """Everything the image is made from: its cache key is derived from this."""
    return {
        "format": BUILD_FORMAT,
        "suite": SUITE,
        "mirror": DEBIAN_MIRROR,
        "variant": "minbase",
        "packages": list(IMAGE_PACKAGES),
        "repository": list(LOCAL_REPOSITORY_PACKAGES),
        "user": LOGIN_USER,
    }


def image_key() -> str:
    digest = hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()
    return f"debian-{SUITE}-{digest[:16]}"


def cache_root() -> Path:
    configured = os.environ.get("KEYLESS_LAB_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "keyless.aws" / "lab"


def missing_tools() -> list[str]:
    """The host programs the lab needs that are not on PATH."""
    needed = ("mmdebstrap", "unshare", "chroot", "mount", "ssh", "ssh-keygen", "dpkg-deb")
    return [tool for tool in needed if shutil.which(tool) is None]


def check_host() -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (mmdebstrap, mount and chroot): run it as root")
    missing = missing_tools()
    if missing:
        raise LabError(f"the lab needs {', '.join(missing)}: apt-get install mmdebstrap openssh-client")


class LabError(RuntimeError):
    """The lab could not be built or started; the message says why."""


# --- the image ----------------------------------------------------------------------------------


def ensure_image(log: Path | None = None) -> tuple[Path, bool]:
    """The cached image's root directory, built first if needed; and whether it was built now.

    A lock serializes builders (two test workers may ask at once); a build goes to a temporary
    directory that is renamed into place only once complete.
    """
    check_host()
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    image = root / image_key()
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (image / COMPLETE_MARK).is_file():
            return image, False
        shutil.rmtree(image, ignore_errors=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{image.name}-", dir=root))
        try:
            _build(partial / "rootfs", log or root / f"{image.name}.log")
            (partial / "rootfs" / COMPLETE_MARK).write_text(json.dumps(recipe(), indent=2) + "\n")
            (partial / "rootfs").rename(image)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return image, True


def _build(rootfs: Path, log: Path) -> None:
    # The hook runs inside mmdebstrap's chroot set-up (proc, resolv.conf): the repository's
    # packages are downloaded as apt would install them (recommends included), then moved out
    # of apt's cache, which mmdebstrap empties at the end.
    download = (
        'chroot "$1" apt-get install --download-only -y '
        + " ".join(LOCAL_REPOSITORY_PACKAGES)
        + f' && mkdir -p "$1/{REPOSITORY_DIR}" && mv "$1"/var/cache/apt/archives/*.deb "$1/{REPOSITORY_DIR}/"'
    )
    command = [
        "mmdebstrap",
        "--variant=minbase",
        f"--include={','.join(IMAGE_PACKAGES)}",
        f"--customize-hook={download}",
        SUITE,
        str(rootfs),
        DEBIAN_MIRROR,
    ]
    with log.open("w") as out:
        finished = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if finished.returncode != 0:
        raise LabError(f"mmdebstrap failed ({finished.returncode}); its output is in {log}")
    _write_repository_index(rootfs / REPOSITORY_DIR)
    _configure_image(rootfs)


def _write_repository_index(directory: Path) -> None:
    """A flat apt repository: ``Packages`` lists each .deb with its control fields and digest."""
    entries = []
    for deb in sorted(directory.glob("*.deb")):
        control = subprocess.run(
            ["dpkg-deb", "--field", str(deb)], capture_output=True, text=True, check=True
        ).stdout.rstrip("\n")
        data = deb.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        entries.append(f"{control}\nFilename: ./{deb.name}\nSize: {len(data)}\nSHA256: {digest}\n")
    (directory / "Packages").write_text("\n".join(entries))


def _configure_image(rootfs: Path) -> None:
    """The login user with passwordless sudo, the local apt source, no baked-in host keys."""
    _chroot(rootfs, "useradd", "--create-home", "--shell", "/bin/bash", LOGIN_USER)
    sudoers = rootfs / "etc" / "sudoers.d" / "90-cloud-init-users"
    sudoers.write_text(
        f"# As cloud-init writes it for the default user.\n{LOGIN_USER} ALL=(ALL) NOPASSWD:ALL\n"
    )
    sudoers.chmod(0o440)
    apt = rootfs / "etc" / "apt"
    for sources in (apt / "sources.list", *apt.glob("sources.list.d/*")):
        sources.unlink()
    (apt / "sources.list.d" / "lab.sources").write_text(
        "# The lab's only apt source: Debian's packages the awscli role installs, copied at build.\n"
        f"Types: deb\nURIs: file:/{REPOSITORY_DIR}\nSuites: ./\nTrusted: yes\n"
    )
    for key in (rootfs / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()


def _chroot(rootfs: Path, *argv: str) -> None:
    subprocess.run(["chroot", str(rootfs), *argv], check=True, capture_output=True)


def _user_ids(rootfs: Path, user: str) -> tuple[int, int, str]:
    for line in (rootfs / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3]), fields[5]
    raise LabError(f"no user {user} in the image")


# --- an instance --------------------------------------------------------------------------------

# Run by `unshare` in the lab's own namespaces: mount the overlay, lay the first-boot files over
# it, and run sshd in the chroot until stopped.
_START_SCRIPT = """\
set -eu
mount -t overlay overlay -o "lowerdir=$LAB_IMAGE,upperdir=$LAB_UPPER,workdir=$LAB_WORK" "$LAB_ROOT"
mount -t proc proc "$LAB_ROOT/proc"
mount --rbind /dev "$LAB_ROOT/dev"
mount -t tmpfs -o mode=0755 tmpfs "$LAB_ROOT/run"
mkdir -p "$LAB_ROOT/run/sshd"
hostname "$LAB_HOSTNAME"
cp -a "$LAB_SEED"/. "$LAB_ROOT"/
exec chroot "$LAB_ROOT" /usr/sbin/sshd -D -e -p "$LAB_PORT" -o ListenAddress=127.0.0.1
"""


@dataclass
class Lab(Started):
    """A lab instance under ``workdir``: ``start()``, then always ``stop()`` (or use ``with``).

    ``aws_config`` is the ``[default]`` section of the login user's ``~/.aws/config`` as the
    image would carry it (the sandbox puts the local endpoints there).
    """

    workdir: Path
    hostname: str = "keyless-lab"
    aws_config: dict[str, str] = field(default_factory=dict)
    image: Path | None = None
    built: bool = False
    build_seconds: float = 0.0
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def key(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    @property
    def log(self) -> Path:
        return self.workdir / "sshd.log"

    def _start(self) -> None:
        started = time.monotonic()
        self.image, self.built = ensure_image()
        self.build_seconds = time.monotonic() - started
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in ("upper", "work", "root", "seed"):
            (self.workdir / name).mkdir(exist_ok=True)
        self.port = _free_port()
        host_key = self._first_boot_files(self.workdir / "seed")
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_key}\n")
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LAB_IMAGE": str(self.image),
            "LAB_UPPER": str(self.workdir / "upper"),
            "LAB_WORK": str(self.workdir / "work"),
            "LAB_ROOT": str(self.workdir / "root"),
            "LAB_SEED": str(self.workdir / "seed"),
            "LAB_HOSTNAME": self.hostname,
            "LAB_PORT": str(self.port),
        }
        argv = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--uts",
            "--ipc",
            "--pid",
            "--fork",
            "--kill-child",
            "sh",
            "-c",
            _START_SCRIPT,
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self._wait_until_listening()

    def _first_boot_files(self, seed: Path) -> str:
        """What cloud-init writes at first boot; returns the host's public key line."""
        assert self.image is not None
        uid, gid, home = _user_ids(self.image, LOGIN_USER)
        ssh_dir = seed / "etc" / "ssh"
        ssh_dir.mkdir(parents=True, exist_ok=True)
        host_key = ssh_dir / "ssh_host_ed25519_key"
        _keygen(host_key, f"root@{self.hostname}")
        _keygen(self.key, "keyless-lab-controller")
        (seed / "etc" / "hostname").write_text(f"{self.hostname}\n")
        (seed / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {self.hostname}\n")
        resolv = Path("/etc/resolv.conf")
        if resolv.is_file():
            (seed / "etc" / "resolv.conf").write_text(resolv.read_text())
        self._trust_local_authorities(seed)
        user_home = seed / home.lstrip("/")
        files = {
            user_home / ".ssh" / "authorized_keys": self.key.with_suffix(".pub").read_text(),
            user_home / ".aws" / "config": _ini("default", self.aws_config) if self.aws_config else None,
        }
        for path, text in files.items():
            if text is None:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            for owned in (path, path.parent):
                os.chown(owned, uid, gid)
            path.parent.chmod(0o700)
            path.chmod(0o600)
        # cp -a gives the home directory the seed's owner and mode: the image's.
        os.chown(user_home, uid, gid)
        user_home.chmod((self.image / home.lstrip("/")).stat().st_mode & 0o7777)
        return " ".join(host_key.with_suffix(".pub").read_text().split()[:2])

    def _trust_local_authorities(self, seed: Path) -> None:
        """The certificate authorities this host adds to Debian's (a TLS-inspecting egress proxy's).

        An image made for such a network carries them, or nothing on it reaches the package index
        over HTTPS. Public certificates only, appended to the image's bundle.
        """
        assert self.image is not None
        local = sorted(LOCAL_AUTHORITIES.glob("*.crt")) if LOCAL_AUTHORITIES.is_dir() else []
        if not local:
            return
        bundle = Path("etc/ssl/certs/ca-certificates.crt")
        text = (self.image / bundle).read_text() + "".join(cert.read_text() for cert in local)
        (seed / bundle).parent.mkdir(parents=True, exist_ok=True)
        (seed / bundle).write_text(text)

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabError(f"the lab's sshd exited ({self.process.returncode}):\n{self.log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.05)
        raise LabError(f"the lab's sshd did not listen on 127.0.0.1:{self.port}:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Ends every process of the lab (its PID namespace) and so its mounts; keeps workdir."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    # --- what Ansible needs -----------------------------------------------------------------

    def host_vars(self) -> dict[str, str]:
        """How the inventory reaches the lab instance: the connection settings of an EC2 host."""
        return {
            "ansible_host": "127.0.0.1",
            "ansible_port": str(self.port),
            "ansible_user": LOGIN_USER,
            "ansible_ssh_private_key_file": str(self.key),
            "ansible_ssh_common_args": (
                f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
            ),
        }

    def ssh(self, command: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``command`` on the lab as the login user (for tests and checks)."""
        argv = [
            "ssh",
            "-p",
            str(self.port),
            "-i",
            str(self.key),
            *self.host_vars()["ansible_ssh_common_args"].split(),
            "-o",
            "BatchMode=yes",
            f"{LOGIN_USER}@127.0.0.1",
            command,
        ]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


# How the lab's ansible.cfg sets up SSH: a user's would have both ControlPersist (one SSH
# connection reused by every task) and pipelining (a module sent over it, not copied first);
# the others exist to measure what each is worth (bench/lab_ssh.py).
SSH_SETTINGS = {
    "pipelining": (True, "-o ControlMaster=auto -o ControlPersist=60s"),
    "persist": (False, "-o ControlMaster=auto -o ControlPersist=60s"),
    "plain": (False, "-o ControlMaster=no"),
}


def write_ansible_cfg(path: Path, control_path_dir: Path, ssh: str = "pipelining") -> Path:
    """The ``ansible.cfg`` a user reaching instances over SSH would have (``ssh``: SSH_SETTINGS)."""
    pipelining, ssh_args = SSH_SETTINGS[ssh]
    control_path_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[defaults]\n"
        "interpreter_python = auto_silent\n"
        "\n"
        "[ssh_connection]\n"
        f"pipelining = {pipelining}\n"
        f"ssh_args = {ssh_args}\n"
        f"control_path_dir = {control_path_dir}\n"
    )
    return path


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started the lab dies.

    ``unshare --kill-child`` passes it on, so a crashed test run leaves no lab behind.
    """
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _ini(section: str, settings: dict[str, str]) -> str:
    return f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    """``python sandbox/lab.py build``: build (or find) the cached image and print where it is."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["build"]:
        print("usage: lab.py build", file=sys.stderr)
        return 2
    started = time.monotonic()
    image, built = ensure_image()
    print(f"lab image {'built' if built else 'cached'}: {image} ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
