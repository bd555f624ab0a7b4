"""The rule files in a real Prometheus scraping a real test-app.

The rules load (as the local rehearsal loads them), every rule evaluates without error against
the app's real series, and the SLO recording rules produce the ratios they promise: the app
answers `/health` with `UP` quickly, so both error ratios are 0.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from test_app_tooling.process import stop, wait_until_ready
from test_app_tooling.tools import REPO


RULES = REPO / "observability" / "rules"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def app_under_prometheus(tool, postgres, run_app, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A real app, and a real Prometheus scraping it every second with the repo's rules."""
    app = run_app(env=postgres.env())
    port = _free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES / "*.yaml")],
        "scrape_configs": [
            {
                "job_name": "test-app",
                "static_configs": [
                    {
                        "targets": [app.url.removeprefix("http://")],
                        "labels": {"namespace": "test-app", "pod": "test-app-0"},
                    }
                ],
            }
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    log_path = tmp_path / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, f"{url}/-/ready", log_path, timeout=30)
        yield url, app
    finally:
        stop(process)


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


@pytest.mark.integration
def test_rules_evaluate_cleanly_on_the_real_apps_series(app_under_prometheus, rule_files):
    url, app = app_under_prometheus
    deadline = time.monotonic() + 40
    while True:
        for _ in range(5):
            assert app.get("/health").text == "UP\n"
        app.get("/readyz")
        groups = httpx.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        ratios = _query(url, "slo:sli_error:ratio_rate5m")
        evaluated = groups and all(g["lastEvaluation"] > "0001-01-01T00:00:00Z" for g in groups)
        # 0/0 is NaN until two scrapes have seen different request counts: wait for numbers.
        numeric = len(ratios) == 2 and all(r["value"][1] != "NaN" for r in ratios)
        if (numeric and evaluated) or time.monotonic() > deadline:
            break
        time.sleep(1)
    loaded_files = {Path(g["file"]).name for g in groups}
    assert loaded_files == {p.name for p in rule_files}
    broken = [
        (rule["name"], rule.get("lastError"))
        for group in groups
        for rule in group["rules"]
        if rule["health"] != "ok"
    ]
    assert not broken, broken
    by_slo = {r["metric"]["slo"]: r for r in ratios}
    assert set(by_slo) == {"availability", "latency"}, ratios
    for slo, result in by_slo.items():
        assert result["metric"]["namespace"] == "test-app", result
        assert float(result["value"][1]) == 0, f"{slo}: {result}"
    assert not _query(url, 'ALERTS{alertstate="firing"}')
