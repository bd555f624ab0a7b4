"""Command line of the rehearsal: ``python -m rehearsal up|down|status|rehearse``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rehearsal.base.topology import Topology


# The rehearsals, in the order `make rehearse` runs them (rehearse.RUNNERS has one for each;
# listed here so that `--help` does not import the scenarios and their plotting).
SCENARIOS = (
    "rollout",
    "failover",
    "crash-primary",
    "kill-instance",
    "rotate",
    "wal-full",
    "freeze-primary",
    "partition-primary",
    "dcs-loss",
    "canary",
    "outage",
)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; return the exit status."""
    parser = argparse.ArgumentParser(prog="rehearsal", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, help="state folder (REHEARSAL_STATE_DIR)")
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", parents=[common], help="bring the topology up (safe to rerun)")
    down = sub.add_parser("down", parents=[common], help="stop everything, leave nothing running")
    down.add_argument("--purge", action="store_true", help="also delete the state folder")
    sub.add_parser("status", parents=[common], help="table of components, ports and health")
    rehearse_cmd = sub.add_parser(
        "rehearse", parents=[common], help="run rehearsals against the running topology"
    )
    rehearse_cmd.add_argument(
        "which",
        nargs="*",
        metavar="SCENARIO",
        # No `choices`: argparse checks an empty list against them and refuses it.
        help=f"one or more of {', '.join(SCENARIOS)} (default: all, in this order)",
    )
    rehearse_cmd.add_argument("--size", choices=["full", "ci"], default="full")
    rehearse_cmd.add_argument(
        "--out", type=Path, help="folder for the reports (default docs/rehearsal)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in getattr(args, "which", []) if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}: expected {', '.join(SCENARIOS)}")

    from rehearsal import status  # noqa: PLC0415 - after parsing: `--help` stays fast
    from rehearsal.base import haproxy, lifecycle, postgres, supervisor  # noqa: PLC0415
    from rehearsal.base.errors import RehearsalError  # noqa: PLC0415
    from test_app_tooling.process import WaitTimeoutError  # noqa: PLC0415
    from test_app_tooling.tools import MissingToolError, ToolFailedError  # noqa: PLC0415

    errors = (
        RehearsalError,
        postgres.PostgresError,
        supervisor.SupervisorError,
        haproxy.HAProxyError,
        WaitTimeoutError,
        MissingToolError,
        ToolFailedError,
        ValueError,
    )

    try:
        topo = Topology.from_env(args.state_dir)
        if args.command == "up":
            lifecycle.up(topo, quiet=args.quiet)
        elif args.command == "down":
            lifecycle.down(topo, quiet=args.quiet, purge=args.purge)
        elif args.command == "status":
            return status.print_status(topo)
        else:
            from rehearsal import rehearse  # noqa: PLC0415

            return rehearse.main(topo, args.which or list(SCENARIOS), args.size, args.out)
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
