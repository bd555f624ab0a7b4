"""Terraform round trip on the AWS emulator: apply every stack, re-plan, destroy.

    python scripts/terraform/emulator_roundtrip.py [--workdir DIR] [--keep-workdir]
                                                   [--outputs FILE]

1. Copies `infra/` into a scratch folder (no state, lock or `.terraform` ever lands in
   the work tree), builds the rotation function's zip there offline (the packaging module with
   a throwaway CA in place of the RDS bundle, which needs the internet; the database stack gets
   it as `rotation_package`) and starts moto on loopback (`moto_server.py`, patched).
2. Applies `bootstrap` (local state), then `network`, `registry`, `cluster`,
   `database` and `ci`, each with its real S3 backend in the emulator's state bucket
   and the `infra/envs/emulator/<stack>.tfvars` profile.
3. Re-plans each stack right after its apply: the plan must be empty except for the
   documented emulator drift (`ALLOWED_DRIFT`). For `database` it also checks the order of
   rotation (`rotation_order_problems`): the first apply turns no rotation on, and the
   rotation resource is switched by `enable_app_secret_rotation` (after the first deploy) and
   depends on the function's network path; and it asks the emulator's Lambda and IAM for the
   rotation function (`rotation_function_problems`): handler, runtime, architecture, role and
   code as the stack sets them.
4. Always destroys what was applied, in reverse order, and stops moto, even after
   a failure or Ctrl-C.

With `--outputs FILE`, writes every applied stack's outputs (`terraform output -json`, keyed
by stack) to FILE before the teardown: scripts/day_one.py checks the walkthrough against them.
Prints one line per stack and `N passed, N failed`; exits non-zero on any failure.
Every Terraform command is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_app_tooling import rotation_package, tls
from test_app_tooling.infra import rotation_function
from test_app_tooling.infra.rotation_order import rotation_order_problems


REPO = Path(__file__).resolve().parents[2]
TF = REPO / "scripts" / "terraform" / "tf"
STACKS = ["bootstrap", "network", "registry", "cluster", "database", "ci"]
REGION = "eu-central-1"

# Attributes moto reports differently from what was applied; a re-plan may show an
# in-place update of exactly these and nothing else. Documented in
# docs/infrastructure.md ("The emulator profile"); tests/infra checks the two agree.
ALLOWED_DRIFT: dict[str, set[str]] = {
    # moto keeps no description on rules that reference another security group: a rule's
    # description is read from its CIDR range only (moto 5.2.5,
    # moto/ec2/models/security_groups.py:95, `SecurityGroupRule.description`).
    "aws_vpc_security_group_ingress_rule": {"description"},
    "aws_vpc_security_group_egress_rule": {"description"},
    # moto's Lambda keeps no logging configuration: CreateFunction's LoggingConfig is dropped and
    # GetFunction returns none (moto 5.2.5, moto/awslambda/models.py:783,
    # `LambdaFunction.get_configuration`), so the log group the function writes to reads back empty.
    "aws_lambda_function": {"logging_config"},
    # moto's EKS model has no upgrade policy: DescribeCluster returns none, so the support type
    # applied reads back empty.
    "aws_eks_cluster": {"upgrade_policy"},
}

# Service endpoints the provider override points at the emulator.
ENDPOINT_SERVICES = [
    "applicationautoscaling",
    "autoscaling",
    "cloudwatch",
    "cloudwatchlogs",
    "ec2",
    "ecr",
    "eks",
    "elbv2",
    "events",
    "iam",
    "kms",
    "lambda",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "sts",
]

TIMEOUTS = {"init": 180, "apply": 600, "plan": 300, "show": 120, "destroy": 600}
MOTO_START_SECONDS = 60


class RoundTripError(RuntimeError):
    """A step of the round trip failed."""


@dataclass
class Result:
    """Outcome of one stack."""

    stack: str
    passed: bool = False
    seconds: float = 0.0
    drift: list[str] = field(default_factory=list)
    error: str = ""


def log(message: str) -> None:
    """Print a progress line at once (CI logs)."""
    print(message, flush=True)


def run_tf(stack_dir: Path, args: list[str], env: dict[str, str], step: str, log_file: Path) -> str:
    """Run one terraform command in `stack_dir`, bounded by the step's timeout."""
    cmd = [str(TF), *args]
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            cwd=stack_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUTS[step],
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RoundTripError(f"terraform {args[0]} timed out after {TIMEOUTS[step]}s") from exc
    with log_file.open("a", encoding="utf-8") as fh:
        took = time.monotonic() - started
        fh.write(f"\n$ terraform {' '.join(args)}  ({took:.1f}s, rc={proc.returncode})\n")
        fh.write(proc.stdout if args[0] != "show" else "(plan JSON not logged)\n")
        fh.write(proc.stderr)
    if proc.returncode not in (0, 2) or (proc.returncode == 2 and "-detailed-exitcode" not in args):
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise RoundTripError(f"terraform {args[0]} failed (rc={proc.returncode}):\n{tail}")
    return proc.stdout


def write_override(stack_dir: Path, endpoint: str) -> None:
    """Point the stack's AWS providers (default and aliased) at the emulator (override file)."""
    endpoints = "\n".join(f'    {svc} = "{endpoint}"' for svc in ENDPOINT_SERVICES)
    providers = (stack_dir / "providers.tf").read_text(encoding="utf-8")
    aliases = ["", *re.findall(r'^\s*alias\s*=\s*"(\w+)"', providers, re.MULTILINE)]
    settings = f"""  access_key                  = "test"
  secret_key                  = "test"
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false

  endpoints {{
{endpoints}
  }}
"""
    blocks = [
        'provider "aws" {\n' + (f'  alias = "{alias}"\n' if alias else "") + settings + "}\n"
        for alias in aliases
    ]
    (stack_dir / "emulator_override.tf").write_text(
        "# Written by scripts/terraform/emulator_roundtrip.py: the emulator only.\n"
        + "\n".join(blocks),
        encoding="utf-8",
    )


def write_backend(stack_dir: Path, stack: str, bucket: str, endpoint: str) -> Path:
    """Write the S3 backend settings of one stack for the emulator."""
    path = stack_dir / "emulator.tfbackend"
    path.write_text(
        f"""bucket                      = "{bucket}"
key                         = "staging/{stack}.tfstate"
region                      = "{REGION}"
use_lockfile                = true
use_path_style              = true
skip_credentials_validation = true
skip_metadata_api_check     = true
skip_region_validation      = true
skip_requesting_account_id  = true
access_key                  = "test"
secret_key                  = "test"
endpoints = {{
  s3  = "{endpoint}"
  sts = "{endpoint}"
  iam = "{endpoint}"
}}
""",
        encoding="utf-8",
    )
    return path


def unexpected_drift(plan: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Split a plan's changes into (allowed drift, unexpected changes)."""
    allowed: list[str] = []
    unexpected: list[str] = []
    for change in plan.get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        address = change["address"]
        if actions != ["update"]:
            unexpected.append(f"{address}: {'/'.join(actions)}")
            continue
        before = change["change"].get("before") or {}
        after = change["change"].get("after") or {}
        unknown = change["change"].get("after_unknown") or {}
        changed = sorted(
            k
            for k in set(before) | set(after) | set(unknown)
            if before.get(k) != after.get(k) or unknown.get(k)
        )
        permitted = ALLOWED_DRIFT.get(change["type"], set())
        extra = [k for k in changed if k not in permitted]
        if extra:
            unexpected.append(f"{address}: update of {', '.join(extra)}")
        else:
            allowed.append(f"{address}: {', '.join(changed)}")
    return allowed, unexpected


class RoundTrip:
    """One round trip: moto, the stacks, the teardown."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.infra = workdir / "infra"
        self.log_dir = workdir / "logs"
        self.moto: subprocess.Popen[bytes] | None = None
        self.endpoint = ""
        self.env: dict[str, str] = {}
        self.applied: list[str] = []
        self.bucket = ""
        self.outputs: dict[str, dict[str, Any]] = {}
        self.rotation_package = workdir / "rotation-lambda.zip"

    # --- emulator --------------------------------------------------------------
    def start_moto(self) -> None:
        """Start the patched moto server and wait until it answers."""
        python = REPO / ".venvs" / "moto" / "bin" / "python"
        if not python.exists():
            raise RoundTripError(f"{python.relative_to(REPO)} is missing; run scripts/bootstrap")
        port_file = self.workdir / "moto.port"
        moto_log = (self.log_dir / "moto.log").open("wb")
        self.moto = subprocess.Popen(
            [
                str(python),
                str(REPO / "scripts" / "terraform" / "moto_server.py"),
                "--port-file",
                str(port_file),
            ],
            stdout=moto_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + MOTO_START_SECONDS
        while time.monotonic() < deadline:
            if self.moto.poll() is not None:
                raise RoundTripError(
                    f"moto exited with {self.moto.returncode}; see {self.log_dir / 'moto.log'}"
                )
            if port_file.exists() and port_file.read_text().strip():
                self.endpoint = f"http://127.0.0.1:{port_file.read_text().strip()}"
                try:
                    with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):  # noqa: S310 - loopback
                        return
                except OSError:
                    pass
            time.sleep(0.3)
        raise RoundTripError(f"moto did not answer within {MOTO_START_SECONDS}s")

    def stop_moto(self) -> None:
        """Stop moto (its whole process group)."""
        if self.moto is None or self.moto.poll() is not None:
            return
        os.killpg(self.moto.pid, signal.SIGTERM)
        try:
            self.moto.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.moto.pid, signal.SIGKILL)
            self.moto.wait(timeout=15)

    # --- stacks ----------------------------------------------------------------
    def prepare(self) -> None:
        """Copy the Terraform tree and build the environment of every command."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            REPO / "infra",
            self.infra,
            ignore=shutil.ignore_patterns(
                ".terraform", "*.tfstate*", "terraform.tfstate.d", ".terraform.lock.hcl"
            ),
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        if "AWS_CA_BUNDLE" in os.environ:
            env["AWS_CA_BUNDLE"] = os.environ["AWS_CA_BUNDLE"]
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_EC2_METADATA_DISABLED": "true",
                "TF_INPUT": "0",
                "TF_IN_AUTOMATION": "1",
                "CHECKPOINT_DISABLE": "1",
            }
        )
        self.env = env
        self.build_rotation_package()

    def build_rotation_package(self) -> None:
        """Build the rotation function's zip for the database stack, offline.

        The packaging module as `make rotation-package` runs it, with a throwaway CA as the
        function's bundle in place of Amazon RDS's, which must be downloaded. moto stores the
        code; nothing invokes the function (rotation stays off in the emulator profile).
        """
        certs = tls.make_certificates(self.workdir / "rotation-ca", ["127.0.0.1"])
        try:
            rotation_package.build(self.rotation_package, rotation_package.given_bundle(certs.ca))
        except rotation_package.PackageError as exc:
            raise RoundTripError(f"rotation package: {exc}") from exc

    def stack_args(self, stack: str) -> list[str]:
        """Return the variable arguments of a stack in the emulator profile."""
        args = [f"-var-file={self.infra / 'envs' / 'emulator' / f'{stack}.tfvars'}"]
        if stack == "database":
            args.append(f"-var=rotation_package={self.rotation_package}")
        return args

    def init(self, stack: str) -> None:
        """Initialise a stack against the emulator (its backend included)."""
        stack_dir = self.infra / "stacks" / stack
        write_override(stack_dir, self.endpoint)
        args = ["init", "-input=false", "-no-color"]
        if stack != "bootstrap":
            backend = write_backend(stack_dir, stack, self.bucket, self.endpoint)
            args.append(f"-backend-config={backend}")
        run_tf(stack_dir, args, self.env, "init", self.log_dir / f"{stack}.log")

    def apply_and_replan(self, stack: str) -> Result:
        """Apply one stack, then check that a new plan only holds documented drift."""
        result = Result(stack)
        started = time.monotonic()
        stack_dir = self.infra / "stacks" / stack
        log_file = self.log_dir / f"{stack}.log"
        try:
            self.init(stack)
            self.applied.append(stack)
            run_tf(
                stack_dir,
                ["apply", "-auto-approve", "-input=false", "-no-color", *self.stack_args(stack)],
                self.env,
                "apply",
                log_file,
            )
            self.outputs[stack] = json.loads(
                run_tf(stack_dir, ["output", "-json"], self.env, "show", log_file)
            )
            if stack == "bootstrap":
                self.bucket = run_tf(
                    stack_dir, ["output", "-raw", "state_bucket_name"], self.env, "show", log_file
                ).strip()
            run_tf(
                stack_dir,
                [
                    "plan",
                    "-input=false",
                    "-no-color",
                    "-out=replan.tfplan",
                    *self.stack_args(stack),
                ],
                self.env,
                "plan",
                log_file,
            )
            plan = json.loads(
                run_tf(stack_dir, ["show", "-json", "replan.tfplan"], self.env, "show", log_file)
            )
            result.drift, unexpected = unexpected_drift(plan)
            if stack == "database":
                state = run_tf(stack_dir, ["state", "list"], self.env, "show", log_file)
                order = rotation_order_problems(plan, state.split())
                unexpected += [f"rotation order: {p}" for p in order]
                if not order:
                    log("PASS database rotation order (off at first apply, after the network)")
                function = self.rotation_function_problems(plan)
                unexpected += [f"rotation function: {p}" for p in function]
                if not function:
                    log(
                        "PASS database rotation function (the emulator's Lambda has the stack's"
                        " handler, runtime, architecture, role and zip)"
                    )
            result.passed = not unexpected
            if unexpected:
                result.error = "re-plan is not empty:\n  " + "\n  ".join(unexpected)
        except RoundTripError as exc:
            result.error = str(exc)
        result.seconds = time.monotonic() - started
        return result

    def rotation_function_problems(self, plan: dict[str, Any]) -> list[str]:
        """Why the emulator's rotation function is not the one the database stack sets."""
        names = rotation_function.applied_names(plan)
        function, role_arn = None, None
        if names is not None:
            try:
                function = rotation_function.emulator_function(self.endpoint, REGION, names[0])
                role_arn = rotation_function.emulator_role_arn(self.endpoint, REGION, names[1])
            except OSError as exc:
                return [f"the emulator did not answer: {exc}"]
        digest = rotation_package.filebase64sha256(self.rotation_package)
        return rotation_function.rotation_function_problems(plan, function, role_arn, digest)

    def destroy(self, stack: str) -> str:
        """Destroy one stack; returns an error message or ''.

        A Terraform process killed mid-apply (timeout, Ctrl-C) leaves its S3 lock file behind.
        Only this run uses the emulator's state, so the teardown then retries without the lock.
        """
        stack_dir = self.infra / "stacks" / stack
        args = ["destroy", "-auto-approve", "-input=false", "-no-color", *self.stack_args(stack)]
        log_file = self.log_dir / f"{stack}.log"
        try:
            run_tf(stack_dir, args, self.env, "destroy", log_file)
        except RoundTripError as exc:
            if "Error acquiring the state lock" not in str(exc):
                return str(exc)
            try:
                run_tf(stack_dir, [*args, "-lock=false"], self.env, "destroy", log_file)
            except RoundTripError as retry_exc:
                return str(retry_exc)
        return ""


def main() -> int:
    """Run the round trip; return the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, help="scratch folder (default: a new temporary folder)"
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep the scratch folder and its logs"
    )
    parser.add_argument(
        "--outputs", type=Path, help="write every applied stack's outputs (JSON) to this file"
    )
    args = parser.parse_args()

    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="tf-emulator-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    trip = RoundTrip(workdir)
    results: list[Result] = []
    teardown_errors: list[str] = []
    started = time.monotonic()

    def _interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        trip.prepare()
        trip.start_moto()
        log(f"emulator: moto on {trip.endpoint}, work folder {workdir}")
        for stack in STACKS:
            result = trip.apply_and_replan(stack)
            results.append(result)
            status = "PASS" if result.passed else "FAIL"
            log(f"{status} {stack} apply+replan ({result.seconds:.0f}s)")
            for item in result.drift:
                log(f"     documented drift: {item}")
            if not result.passed:
                log("     " + result.error.replace("\n", "\n     "))
                break
    except (RoundTripError, KeyboardInterrupt) as exc:
        log(f"FAIL setup: {exc}")
        results.append(Result("setup", error=str(exc)))
    finally:
        if args.outputs:
            args.outputs.write_text(json.dumps(trip.outputs, indent=2) + "\n", encoding="utf-8")
        for stack in reversed(trip.applied):
            t0 = time.monotonic()
            error = (
                trip.destroy(stack)
                if trip.moto is not None and trip.moto.poll() is None
                else "moto not running"
            )
            if error:
                teardown_errors.append(f"{stack}: {error}")
                log(f"FAIL {stack} destroy ({time.monotonic() - t0:.0f}s)\n     {error}")
            else:
                log(f"PASS {stack} destroy ({time.monotonic() - t0:.0f}s)")
        trip.stop_moto()

    failed_stacks = {r.stack for r in results if not r.passed} | {
        e.split(":")[0] for e in teardown_errors
    }
    passed = len([s for s in STACKS if s in {r.stack for r in results} and s not in failed_stacks])
    failed = len(STACKS) - passed
    log(
        f"emulator round trip: {passed} passed, {failed} failed ({time.monotonic() - started:.0f}s)"
    )
    if args.keep_workdir or failed:
        log(f"logs: {trip.log_dir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
