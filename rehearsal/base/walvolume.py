"""Each node's WAL volume: pg_wal on a small filesystem of its own, which a fault can fill.

As root, every node's ``pg_wal`` is a link (initdb and pg_basebackup ``--waldir``) to a folder
on an ext4 filesystem in a sparse image file, loop-mounted beside the data directory. Its size
is ``configs.WAL_VOLUME_MB``, above what the WAL settings let pg_wal hold. Filling it (a file
that takes every free block) is the ``wal-full`` fault; deleting that file is the person's step
the runbook names. The image holds only what is written, so neither the fill (allocated, never
written) nor the volume costs the machine's disk.
"""

from __future__ import annotations

import contextlib
import errno
import os

from rehearsal.base.configs import WAL_VOLUME_MB
from rehearsal.base.errors import RehearsalError
from rehearsal.base.topology import PG_NODES, Topology
from test_app_tooling.postgres import give_to_server_user
from test_app_tooling.tools import run_tool


FILLER = "filler"
CHUNK = 1 << 20


def up(topo: Topology) -> None:
    """Create and mount every node's WAL volume that is missing (safe to rerun)."""
    if not topo.wal_volumes:
        return
    for node in PG_NODES:
        image, mount = topo.wal_image(node), topo.wal_mount(node)
        if not image.exists():
            with image.open("wb") as handle:
                handle.truncate(WAL_VOLUME_MB << 20)
            # -m 0: no blocks reserved for root, so the server sees every block the volume has.
            run_tool("mkfs.ext4", "-q", "-F", "-m", "0", "-L", f"wal-{node}", str(image))
        mount.mkdir(exist_ok=True)
        if not os.path.ismount(mount):
            run_tool("mount", "-o", "loop", str(image), str(mount))
        # The server's user writes the volume (pg_basebackup creates pg_wal there anew).
        give_to_server_user(mount, topo.pg_os_user)
        mount.chmod(0o700)


def down(topo: Topology) -> None:
    """Unmount every node's WAL volume (the servers are stopped); the images stay."""
    if not topo.wal_volumes:
        return
    for node in PG_NODES:
        if os.path.ismount(topo.wal_mount(node)):
            run_tool("umount", str(topo.wal_mount(node)))


def on_volume(topo: Topology, node: str) -> bool:
    """Return whether ``node``'s pg_wal is the folder on its mounted WAL volume."""
    pg_wal = topo.pg_data(node) / "pg_wal"
    return (
        topo.wal_volumes
        and os.path.ismount(topo.wal_mount(node))
        and pg_wal.is_symlink()
        and pg_wal.resolve() == topo.pg_wal_dir(node).resolve()
    )


def free_bytes(topo: Topology, node: str) -> int:
    """Free bytes on ``node``'s WAL volume."""
    stat = os.statvfs(topo.wal_mount(node))
    return stat.f_bavail * stat.f_frsize


def fill(topo: Topology, node: str) -> int:
    """Take every free block of ``node``'s WAL volume with one file; return its size in bytes.

    The blocks are allocated, not written (``posix_fallocate``), then the last ones written
    until the filesystem says ENOSPC, so nothing is left for the server's next WAL segment.
    """
    if not on_volume(topo, node):
        raise RehearsalError(
            f"{node}'s pg_wal is not on a WAL volume of its own: the wal-full fault needs root "
            "and a rehearsal created with them (`make rehearsal-clean && make up`)"
        )
    path = topo.wal_mount(node) / FILLER
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = max(free_bytes(topo, node) - 4 * CHUNK, 0)
        with contextlib.suppress(OSError):  # the writes below take what is left either way
            os.posix_fallocate(fd, 0, size)
        for chunk in (CHUNK, 4096, 512):
            block = bytes(chunk)
            while True:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return path.stat().st_size


def release(topo: Topology, node: str) -> bool:
    """Delete the filler of ``node``'s WAL volume (what the runbook asks of a person).

    Return whether there was one.
    """
    path = topo.wal_mount(node) / FILLER
    if not path.exists():
        return False
    path.unlink()
    return True


def filled(topo: Topology) -> list[str]:
    """Return the nodes whose WAL volume holds a filler (a fault left behind)."""
    return [node for node in PG_NODES if (topo.wal_mount(node) / FILLER).exists()]
