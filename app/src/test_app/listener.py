"""The listening socket, made once in the main process with limits every connection inherits.

granian on Linux lets each worker bind a socket of its own (`SO_REUSEPORT`) deep inside its
Rust side, where nothing can set an option on the connections it accepts. The main process
builds the one listening socket instead (granian's portable path: the workers inherit it and
accept from one shared queue, so a busy worker never has a backlog of its own), and sets on it
what the kernel copies into every accepted connection:

- `TCP_USER_TIMEOUT`: a connection whose sent data stays unacknowledged, or that the peer's
  zero window keeps from sending, for `SEND_STALL_TIMEOUT_MS` is aborted by the kernel; the
  server's pending write fails and it closes the connection. This is the write timeout for
  slow readers (a client that pipelines requests and never reads its answers), which the
  server's header-read timeout never covers: the server waits to write, not to read.
- `SO_SNDBUF`: each connection's kernel send buffer is fixed at `SEND_BUFFER_BYTES` instead of
  growing to 4 MiB, so a client that stops reading makes the instance hold (and answer ahead)
  only that much before its writes stall.
"""

from __future__ import annotations

import socket
from typing import Final


# Far above any real client's pause in reading (the ALB, HAProxy and Prometheus read at once);
# twice the header-read timeout.
SEND_STALL_TIMEOUT_MS: Final = 10_000
# Our answers are a few hundred bytes; /metrics (a few tens of KiB) takes a few writes. The kernel
# doubles the value for its own bookkeeping: about 8 KiB per connection, so 4096 stalled
# connections per worker hold about 32 MiB until the stall timeout ends them. Socket memory
# counts against the pod's memory limit (cgroup v2), hence small.
SEND_BUFFER_BYTES: Final = 4 * 1024


def apply_connection_limits(sock: socket.socket) -> None:
    """Set on the listening `sock` the options that its accepted connections inherit."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, SEND_STALL_TIMEOUT_MS)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
