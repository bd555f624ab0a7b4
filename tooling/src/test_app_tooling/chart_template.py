"""Print the test-app chart rendered with Helm's engine: `make chart-template`.

    python -m test_app_tooling.chart_template charts/test-app/values-staging.yaml[,more.yaml]

The values files are paths (relative to the current folder or absolute) inside the chart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import helm_python as helm
import yaml

from test_app_tooling.helm_render import CHART, load_values, render


def chart_relative(files: str) -> list[str]:
    """The comma-separated `files` as paths relative to the chart; each must lie inside it."""
    chart = CHART.resolve()
    relative = []
    for name in files.split(","):
        path = Path(name).resolve()
        if not path.is_relative_to(chart):
            raise ValueError(f"values file {name!r}: expected a file inside {chart}")
        if not path.is_file():
            raise ValueError(f"values file {name!r}: expected an existing file")
        relative.append(str(path.relative_to(chart)))
    return relative


def main(argv: list[str] | None = None) -> int:
    """Print the render of the values files in `argv` (the command line when `None`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("values", help="values files inside the chart, comma-separated")
    args = parser.parse_args(argv)
    try:
        files = chart_relative(args.values)
    except ValueError as error:
        parser.error(str(error))
    try:
        objects = render(load_values(files))
    except helm.HelmError as error:
        sys.stderr.write(f"error: the chart does not render with {args.values}: {error}\n")
        return 1
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
