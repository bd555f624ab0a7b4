#!/usr/bin/env python3
"""Post-deploy smoke test: is the release behind a URL up, ready and the expected build.

Polls BASE_URL until every check passes in `--passes` consecutive rounds, or the overall
`--deadline` runs out. Each request is bounded by `--timeout`. Python standard library only, so
it runs on a CI runner, a laptop or a bastion without installing anything.

What it checks depends on where BASE_URL leads (`--scope`):

- `public` (default), through the load balancer or DNS: only the paths the Ingress forwards
  (`ingress.publicPaths` of the chart: `/health` and `/health/read`, both `200 UP`). The load
  balancer answers any other path itself (the ALB's fixed 404), so they are not asked.
- `service`, straight to the Service or a pod (`kubectl port-forward`): also `/readyz` and
  `/version`, which `--expect-sha` and `--expect-version` compare with the build. The pipeline
  checks the build in the cluster with `helm test` instead (the chart's test pod).

    scripts/smoke_test.py https://staging.example.com --connect-to k8s-....elb.amazonaws.com
    scripts/smoke_test.py http://127.0.0.1:8080 --scope service --expect-sha "$GITHUB_SHA"

`--connect-to` opens the connections to another address (the load balancer, before DNS points
at it) while the URL's host stays the TLS server name, the certificate's expected name and the
Host header, like `curl --connect-to`.

The last line printed is the verdict (`SMOKE PASS ...` or `SMOKE FAIL ...`).
Exit codes: 0 pass, 1 fail, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field


EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
# The body is only ever read for short answers ("UP\n", a small JSON document).
MAX_BODY_BYTES = 64 * 1024
# What the Ingress forwards (the chart's ingress.publicPaths, a test keeps them equal), each
# answering `200 UP`: the write path and the read path through the database.
PUBLIC_PATHS = ("/health", "/health/read")
SCOPES = ("public", "service")


@dataclass(frozen=True)
class Response:
    """One HTTP answer: status and (bounded) body."""

    status: int
    body: str


@dataclass
class Round:
    """The outcome of one pass over every endpoint."""

    failures: list[str] = field(default_factory=list)
    version: str | None = None
    git_sha: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed in this round."""
        return not self.failures


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a finding (e.g. a login page in front of the app), never followed."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def _connect_to(address: str) -> list[urllib.request.BaseHandler]:
    """Handlers that connect to `address` but keep the URL's host for TLS and Host."""
    context = ssl.create_default_context()

    class _Http(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.create_connection((address, self.port), self.timeout)

    class _Https(http.client.HTTPSConnection):
        def connect(self) -> None:
            raw = socket.create_connection((address, self.port), self.timeout)
            self.sock = context.wrap_socket(raw, server_hostname=self.host)

    class _HttpHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_Http, req)

    class _HttpsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_Https, req, context=context)

    return [_HttpHandler(), _HttpsHandler()]


def fetch(
    url: str, timeout: float, host_header: str | None, connect_to: str | None = None
) -> Response:
    """GET `url`; HTTP error statuses are returned, transport errors raise OSError."""
    request = urllib.request.Request(url, headers={"User-Agent": "test-app-smoke/1"})  # noqa: S310 (scheme checked in parse_args)
    if host_header:
        request.add_header("Host", host_header)
    extra = _connect_to(connect_to) if connect_to else []
    opener = urllib.request.build_opener(_NoRedirect, *extra)
    try:
        with opener.open(request, timeout=timeout) as answer:
            body = answer.read(MAX_BODY_BYTES).decode("utf-8", errors="replace")
            return Response(answer.status, body)
    except urllib.error.HTTPError as error:
        body = error.read(MAX_BODY_BYTES).decode("utf-8", errors="replace")
        return Response(error.code, body)


def _describe(error: OSError) -> str:
    if isinstance(error, urllib.error.URLError):
        return f"unreachable ({error.reason})"
    if isinstance(error, TimeoutError):
        return "timed out"
    return f"unreachable ({error})"


def check_once(args: argparse.Namespace) -> Round:
    """Query every endpoint once and collect what is wrong."""
    outcome = Round()
    base = args.base_url.rstrip("/")
    checks: list[tuple[str, str | None]] = [(path, "UP") for path in PUBLIC_PATHS]
    if args.scope == "service":
        checks.append(("/readyz", None))
    for path, want_body in checks:
        try:
            answer = fetch(base + path, args.timeout, args.host_header, args.connect_to)
        except OSError as error:
            outcome.failures.append(f"{path}: {_describe(error)}")
            continue
        if answer.status != 200:
            outcome.failures.append(f"{path}: HTTP {answer.status} {answer.body.strip()[:80]!r}")
        elif want_body is not None and answer.body.strip() != want_body:
            outcome.failures.append(
                f"{path}: body {answer.body.strip()[:80]!r}, want {want_body!r}"
            )
    if args.scope == "service":
        _check_version(args, base, outcome)
    return outcome


def _check_version(args: argparse.Namespace, base: str, outcome: Round) -> None:
    try:
        answer = fetch(base + "/version", args.timeout, args.host_header, args.connect_to)
    except OSError as error:
        outcome.failures.append(f"/version: {_describe(error)}")
        return
    if answer.status != 200:
        outcome.failures.append(f"/version: HTTP {answer.status}")
        return
    try:
        document = json.loads(answer.body)
    except json.JSONDecodeError:
        outcome.failures.append(f"/version: not JSON: {answer.body.strip()[:80]!r}")
        return
    if not isinstance(document, dict):
        outcome.failures.append("/version: expected a JSON object with version and git_sha")
        return
    for key in ("version", "git_sha"):
        if not isinstance(document.get(key), str) or not document[key]:
            outcome.failures.append(f"/version: field {key!r} missing or not a non-empty string")
    outcome.version = document.get("version") if isinstance(document.get("version"), str) else None
    outcome.git_sha = document.get("git_sha") if isinstance(document.get("git_sha"), str) else None
    if (
        args.expect_version
        and outcome.version is not None
        and outcome.version != args.expect_version
    ):
        outcome.failures.append(
            f"/version: version {outcome.version!r}, want {args.expect_version!r}"
        )
    if (
        args.expect_sha
        and outcome.git_sha is not None
        and not _same_sha(outcome.git_sha, args.expect_sha)
    ):
        outcome.failures.append(f"/version: git_sha {outcome.git_sha!r}, want {args.expect_sha!r}")


def _same_sha(reported: str, expected: str) -> bool:
    """Equal, or one is an abbreviation (at least 7 hex digits) of the other."""
    reported, expected = reported.lower(), expected.lower()
    shorter = min(len(reported), len(expected))
    return shorter >= 7 and reported[:shorter] == expected[:shorter]


def run(args: argparse.Namespace) -> int:
    """Poll until `--passes` consecutive clean rounds or the deadline; print the verdict."""
    started = time.monotonic()
    deadline = started + args.deadline
    streak = 0
    attempt = 0
    last = Round()
    while True:
        attempt += 1
        last = check_once(args)
        elapsed = time.monotonic() - started
        if last.ok:
            streak += 1
            print(f"round {attempt} ({elapsed:.1f}s): ok ({streak}/{args.passes})", flush=True)
            if streak >= args.passes:
                build = (
                    f" version={last.version} git_sha={last.git_sha}"
                    if args.scope == "service"
                    else ""
                )
                print(
                    f"SMOKE PASS {args.base_url}{build} after {elapsed:.1f}s ({attempt} rounds)",
                    flush=True,
                )
                return EXIT_PASS
        else:
            streak = 0
            print(f"round {attempt} ({elapsed:.1f}s): {'; '.join(last.failures)}", flush=True)
        if time.monotonic() + args.interval >= deadline:
            break
        time.sleep(args.interval)
    elapsed = time.monotonic() - started
    reason = "; ".join(last.failures) or f"only {streak} of {args.passes} consecutive passes"
    print(
        f"SMOKE FAIL {args.base_url} after {elapsed:.1f}s ({attempt} rounds): {reason}",
        flush=True,
    )
    return EXIT_FAIL


def _positive(name: str, cast: type[float | int]) -> Callable[[str], float | int]:
    def parse(text: str) -> float | int:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name}: expected a positive {cast.__name__}, got {text!r}"
            ) from None
        if value <= 0:
            raise argparse.ArgumentTypeError(
                f"{name}: expected a positive {cast.__name__}, got {text!r}"
            )
        return value

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and validate the command line; bad values exit 2 naming the option."""
    parser = argparse.ArgumentParser(
        description="Smoke-test a deployed test-app: its public paths (/health, /health/read), "
        "or with --scope service also /readyz and /version.",
    )
    parser.add_argument("base_url", help="base URL, e.g. https://staging.example.com")
    parser.add_argument(
        "--scope",
        choices=SCOPES,
        default="public",
        help="public: the paths the Ingress forwards (default); service: also /readyz and "
        "/version (the Service or a pod, e.g. through kubectl port-forward)",
    )
    parser.add_argument(
        "--expect-version", help="fail unless /version reports this version (--scope service)"
    )
    parser.add_argument(
        "--expect-sha",
        help="fail unless /version reports this git SHA, 7+ hex digits (--scope service)",
    )
    parser.add_argument(
        "--timeout", type=_positive("--timeout", float), default=5.0, help="seconds per request"
    )
    parser.add_argument(
        "--deadline",
        type=_positive("--deadline", float),
        default=120.0,
        help="overall seconds before the verdict is FAIL",
    )
    parser.add_argument(
        "--interval",
        type=_positive("--interval", float),
        default=2.0,
        help="seconds between rounds",
    )
    parser.add_argument(
        "--passes",
        type=_positive("--passes", int),
        default=3,
        help="consecutive clean rounds required (catches a flapping release)",
    )
    parser.add_argument("--host-header", help="send this Host header (testing through an IP)")
    parser.add_argument(
        "--connect-to",
        help="connect to this address (e.g. the ALB's DNS name) instead of the URL's host, "
        "which stays the TLS server name and Host header",
    )
    args = parser.parse_args(argv)
    url = urllib.parse.urlsplit(args.base_url)
    if url.scheme not in {"http", "https"} or not url.netloc:
        parser.error(
            f"base_url: expected an http(s) URL like https://host[:port], got {args.base_url!r}"
        )
    for option, value in (
        ("--expect-sha", args.expect_sha),
        ("--expect-version", args.expect_version),
    ):
        if value is not None and args.scope != "service":
            parser.error(
                f"{option} needs --scope service: /version is not a public path "
                f"(the load balancer forwards only {', '.join(PUBLIC_PATHS)})"
            )
    if args.expect_sha is not None:
        sha = args.expect_sha.lower()
        if not 7 <= len(sha) <= 40 or any(c not in "0123456789abcdef" for c in sha):
            parser.error(f"--expect-sha: expected 7 to 40 hex digits, got {args.expect_sha!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the smoke test; the return value is the exit code."""
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
