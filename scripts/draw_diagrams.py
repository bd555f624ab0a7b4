"""Architecture diagrams as code: docs/diagrams/*.png from the Python `diagrams` library.

    make docs-diagrams                    # regenerate every PNG (needs graphviz `dot`)
    python scripts/draw_diagrams.py --check    # fail if a PNG is missing or stale

Each diagram is built with explicit node ids, so its graphviz DOT source is the same on every
run and every machine once the icon paths are made relative to the `diagrams` package. PNG
bytes from graphviz are not reproducible across versions, so the staleness check does not
compare images: every PNG carries the SHA-256 of its normalised DOT source in a PNG `tEXt`
chunk (`dot-sha256`), and `--check` rebuilds the sources (no rendering) and compares hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import diagrams
from diagrams import Cluster, Diagram, Edge
from diagrams.aws.compute import EC2AutoScaling, EC2ContainerRegistry, ElasticKubernetesService
from diagrams.aws.database import Aurora, AuroraInstance
from diagrams.aws.network import (
    CloudFront,
    ElbApplicationLoadBalancer,
    InternetGateway,
    NATGateway,
    Route53,
)
from diagrams.aws.security import (
    WAF,
    CertificateManager,
    IdentityAndAccessManagementIamRole,
    KeyManagementService,
    SecretsManager,
)
from diagrams.aws.storage import SimpleStorageServiceS3Bucket
from diagrams.azure.compute import AKS, ContainerRegistries
from diagrams.azure.database import DatabaseForPostgresqlServers
from diagrams.azure.identity import ManagedIdentities
from diagrams.azure.network import DNSZones, LoadBalancers, PrivateEndpoint
from diagrams.azure.networking import Nat
from diagrams.azure.security import KeyVaults
from diagrams.azure.storage import StorageAccounts
from diagrams.generic.blank import Blank
from diagrams.k8s.clusterconfig import HPA
from diagrams.k8s.compute import Deploy, Pod
from diagrams.k8s.group import NS
from diagrams.k8s.network import SVC, Ing, Netpol
from diagrams.k8s.podconfig import Secret
from diagrams.k8s.rbac import SA
from diagrams.onprem.ci import GithubActions
from diagrams.onprem.client import Users
from diagrams.onprem.database import Postgresql
from diagrams.onprem.monitoring import Grafana, Prometheus
from diagrams.onprem.network import Haproxy
from diagrams.onprem.vcs import Github
from diagrams.programming.language import Python

from test_app_tooling.helm_render import chart_values


REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "diagrams"
CHUNK_KEY = b"dot-sha256"
# The icons live next to the package, in site-packages/resources/.
ICON_ROOT = Path(diagrams.__file__).resolve().parent.parent

GRAPH = {"fontsize": "22", "pad": "0.5", "nodesep": "0.5", "ranksep": "0.9"}
NODE = {"fontsize": "12"}


def _prod_values(prod_file: str = "values-prod.yaml") -> dict[str, Any]:
    """Read the chart's prod values (defaults + `prod_file`, merged by Helm): labels follow it."""
    return chart_values([prod_file])


PROD = _prod_values()
HPA_RANGE = f"{PROD['autoscaling']['minReplicas']}..{PROD['autoscaling']['maxReplicas']}"
HPA_TARGET = PROD["autoscaling"]["targetCPUUtilizationPercentage"]
PDB_MIN = PROD["podDisruptionBudget"]["minAvailable"]
AKS_PROD = _prod_values("values-aks-prod.yaml")
AKS_HPA_RANGE = (
    f"{AKS_PROD['autoscaling']['minReplicas']}..{AKS_PROD['autoscaling']['maxReplicas']}"
)


class _Source(Diagram):  # type: ignore[misc]
    """A Diagram that only builds its DOT source; rendering is done by `render_png`."""

    def __enter__(self) -> Self:
        super().__enter__()
        return self

    def __exit__(self, *_: object) -> None:
        diagrams.setdiagram(None)


def _diagram(title: str, name: str, direction: str = "LR") -> _Source:
    return _Source(
        title,
        filename=name,
        direction=direction,
        show=False,
        graph_attr=GRAPH,
        node_attr=NODE,
    )


################################################################################
# The diagrams
################################################################################


def cloud() -> _Source:
    """Draw the AWS architecture of one environment (staging or prod)."""
    with _diagram("test-app on AWS: one environment (eu-central-1, 3 AZs)", "cloud") as d:
        users = Users("users", nodeid="users")
        dns = Route53("Route 53\n(your zone)", nodeid="dns")
        with Cluster("AWS account of the environment"):
            with Cluster("Terraform state (bootstrap stack)"):
                state = SimpleStorageServiceS3Bucket(
                    "S3 state bucket\nversioned, KMS,\nnative lock file", nodeid="state"
                )
            ecr = EC2ContainerRegistry(
                "ECR test-app (staging/build\naccount; prod pulls\ncross-account), immutable",
                nodeid="ecr",
            )
            acm = CertificateManager("ACM certificate", nodeid="acm")
            secrets = SecretsManager(
                "Secrets Manager\nAurora master secret\n(rotated)", nodeid="sm"
            )
            kms = KeyManagementService("KMS keys\n(state, EKS secrets,\nAurora, ECR)", nodeid="kms")
            with Cluster("VPC (network stack): public, private subnets in 3 AZs"):
                igw = InternetGateway("internet gateway", nodeid="igw")
                with Cluster("public subnets"):
                    alb = ElbApplicationLoadBalancer(
                        "ALB (HTTPS)\nIP targets,\nhealth check /readyz", nodeid="alb"
                    )
                    nat = NATGateway("NAT gateway(s)", nodeid="nat")
                with Cluster("private subnets (cluster stack)"):
                    eks = ElasticKubernetesService("EKS control plane\n1.35", nodeid="eks")
                    nodes = EC2AutoScaling(
                        "managed node group\n3..N nodes over 3 AZs\n(Cluster Autoscaler)",
                        nodeid="nodes",
                    )
                    pods = Pod(f"test-app pods\n(HPA {HPA_RANGE})", nodeid="pods")
                with Cluster("private subnets (database stack)"):
                    writer = Aurora("Aurora PostgreSQL\nwriter", nodeid="writer")
                    readers = AuroraInstance(
                        "Aurora readers\n(auto scaling on CPU)", nodeid="readers"
                    )
        users >> dns
        users >> Edge(label="HTTPS") >> igw >> alb
        acm - Edge(style="dashed") - alb
        alb >> Edge(label="pod IPs :8080") >> pods
        nodes - pods
        eks - nodes
        pods >> Edge(label="writer :5432 TLS") >> writer
        pods >> Edge(label="reader :5432 TLS") >> readers
        writer >> Edge(label="replication", style="dashed") >> readers
        nodes >> Edge(label="pull by digest") >> ecr
        nodes >> Edge(label="egress") >> nat
        secrets >> Edge(label="External Secrets\n(Pod Identity)", style="dashed") >> pods
        kms - Edge(style="dotted") - secrets
        kms - Edge(style="dotted") - writer
        kms - Edge(style="dotted") - state
    return d


def cloud_azure() -> _Source:
    """Draw the Azure architecture of one environment (infra/azure: not applied from here)."""
    title = "test-app on Azure: one environment (westeurope, 3 zones)"
    with _diagram(title, "cloud-azure") as d:
        users = Users("users", nodeid="users")
        dns = DNSZones("Azure DNS\n(your zone)", nodeid="dns")
        with Cluster("Azure subscription of the environment"):
            with Cluster("Terraform state (bootstrap stack)"):
                state = StorageAccounts(
                    "storage account\nversioned, soft delete,\nEntra ID only, blob lease lock",
                    nodeid="state",
                )
            acr = ContainerRegistries(
                "ACR Premium test-app\nzone-redundant,\nno admin user", nodeid="acr"
            )
            identities = ManagedIdentities(
                "managed identities\n(workload identity,\nGitHub federated credentials)",
                nodeid="identities",
            )
            with Cluster("VNet (network stack): nodes, endpoints, database subnets"):
                nat = Nat("NAT gateway\n(static egress address)", nodeid="nat")
                with Cluster("node subnet (cluster stack)"):
                    lb = LoadBalancers(
                        "public load balancer\n(application routing\nNGINX, HTTPS)", nodeid="lb"
                    )
                    aks = AKS(
                        "AKS 1.33, Entra ID + Azure RBAC\nsystem pool over 3 zones,\n"
                        "one user pool per zone\n(cluster autoscaler)",
                        nodeid="aks",
                    )
                    pods = Pod(
                        f"test-app pods\n(HPA {AKS_HPA_RANGE}),\nCilium policies", nodeid="pods"
                    )
                with Cluster("private endpoint subnet"):
                    endpoint = PrivateEndpoint("private endpoint", nodeid="endpoint")
                    vault = KeyVaults("Key Vault\ndatabase secret,\ncertificate", nodeid="vault")
                with Cluster("delegated database subnet (database stack)"):
                    writer = DatabaseForPostgresqlServers(
                        "PostgreSQL flexible server\nzone-redundant HA\n(writer endpoint)",
                        nodeid="writer",
                    )
                    reader = DatabaseForPostgresqlServers(
                        "read replica(s)\n(reader endpoint)", nodeid="reader"
                    )
        users >> dns
        users >> Edge(label="HTTPS") >> lb
        lb >> Edge(label="pods :8080") >> pods
        aks - pods
        pods >> Edge(label="writer :5432 TLS") >> writer
        pods >> Edge(label="reader :5432 TLS") >> reader
        writer >> Edge(label="replication", style="dashed") >> reader
        aks >> Edge(label="pull by digest\n(kubelet identity)") >> acr
        aks >> Edge(label="egress") >> nat
        vault >> Edge(label="External Secrets\n(workload identity)", style="dashed") >> pods
        endpoint - vault
        identities - Edge(style="dotted") - vault
        identities - Edge(style="dotted") - state
    return d


def in_cluster() -> _Source:
    """Draw the objects in the cluster: the app's namespace and the platform add-ons."""
    with _diagram("Inside the EKS cluster", "in-cluster") as d:
        alb = ElbApplicationLoadBalancer("ALB\n(created by the\ncontroller)", nodeid="alb")
        sm = SecretsManager("Secrets Manager", nodeid="sm")
        aurora = Aurora("Aurora\nwriter + readers", nodeid="aurora")
        with Cluster("namespace kube-system"):
            lbc = Deploy("AWS Load Balancer\nController", nodeid="lbc")
            ca = Deploy("Cluster Autoscaler", nodeid="ca")
            ms = Deploy("metrics-server", nodeid="ms")
        with Cluster("namespace external-secrets"):
            eso = Deploy("External Secrets\nOperator", nodeid="eso")
        with Cluster("namespace test-app (Pod Security: restricted)"):
            ns = NS("test-app", nodeid="ns")
            ing = Ing("Ingress\n(class alb)", nodeid="ing")
            svc = SVC("Service :80", nodeid="svc")
            hpa = HPA(f"HPA {HPA_RANGE}\nCPU {HPA_TARGET}% of request", nodeid="hpa")
            deploy = Deploy(
                f"Deployment\nmaxUnavailable 0,\nPDB minAvailable {PDB_MIN}", nodeid="deploy"
            )
            pods = [Pod(f"pod {i}\n(zone {z})", nodeid=f"pod{i}") for i, z in enumerate("abc", 1)]
            netpol = Netpol("NetworkPolicies\ndefault deny", nodeid="netpol")
            secret = Secret("Secret test-app-db\n(ExternalSecret)", nodeid="secret")
            sa = SA("ServiceAccount\n(no token mounted)", nodeid="sa")
        with Cluster("namespace monitoring"):
            prom = Prometheus("Prometheus\n(ServiceMonitor,\nPrometheusRule)", nodeid="prom")
            am = Prometheus("Alertmanager", nodeid="am")
            graf = Grafana("Grafana\n(dashboard sidecar)", nodeid="graf")
        alb >> Edge(label="pod IPs") >> pods
        lbc >> Edge(style="dashed", label="reconciles") >> ing
        ing >> svc >> pods
        ing - Edge(style="dashed") - alb
        hpa >> deploy >> pods
        ms >> Edge(style="dashed", label="CPU") >> hpa
        ca >> Edge(style="dashed", label="nodes for\npending pods") >> deploy
        sm >> eso >> secret >> pods
        netpol - Edge(style="dotted") - pods
        ns - Edge(style="dotted") - netpol
        sa - Edge(style="dotted") - pods
        prom >> Edge(label="scrape /metrics") >> pods
        prom >> am
        graf >> prom
        pods >> Edge(label=":5432") >> aurora
    return d


def delivery() -> _Source:
    """Draw the delivery pipeline, from commit to production."""
    with _diagram("Delivery: commit -> CI -> registry -> staging -> prod", "delivery") as d:
        dev = Github("pull request\n/ push to main", nodeid="git")
        with Cluster("GitHub Actions: ci.yml"):
            lint = GithubActions("lint, test\n(make lint, make test)", nodeid="ci")
            scan = GithubActions("security\n(checkov, hadolint,\npip-audit, trivy)", nodeid="scan")
            gate = GithubActions("required-checks-pass", nodeid="gate")
            publish = GithubActions(
                "publish (main):\nbuild, SBOM, push,\ncosign keyless sign", nodeid="publish"
            )
        oidc = IdentityAndAccessManagementIamRole(
            "IAM roles via\nGitHub OIDC\n(no keys)", nodeid="oidc"
        )
        ecr = EC2ContainerRegistry("ECR test-app\n(one registry,\nimmutable tags)", nodeid="ecr")
        with Cluster("deploy.yml (environment staging)"):
            stg = ElasticKubernetesService(
                "verify signature,\nhelm upgrade --rollback-on-failure,\nsmoke test",
                nodeid="staging",
            )
        with Cluster("deploy.yml (environment prod: reviewers)"):
            prod = ElasticKubernetesService(
                "same digest,\nhelm upgrade --rollback-on-failure,\nsmoke test", nodeid="prod"
            )
        rollback = GithubActions("rollback.sh on a\nfailed smoke test", nodeid="rollback")
        dev >> lint >> gate
        dev >> scan >> gate
        gate >> publish
        publish >> Edge(label="assume role") >> oidc
        publish >> Edge(label="image@sha256") >> ecr
        ecr >> stg >> Edge(label="approval") >> prod
        stg >> Edge(style="dashed") >> rollback
        prod >> Edge(style="dashed") >> rollback
    return d


def request_path() -> _Source:
    """Draw one `GET /health` from a user to the database and back."""
    with _diagram("Request path of GET /health", "request-path") as d:
        user = Users("client", nodeid="client")
        edge = CloudFront("optional: CloudFront\n+ WAF (larger audience)", nodeid="cdn")
        waf = WAF("WAF rules\n(rate limit)", nodeid="waf")
        alb = ElbApplicationLoadBalancer(
            "ALB :443\nTLS 1.3 policy,\nidle timeout 60 s", nodeid="alb"
        )
        with Cluster(f"pod (one of {HPA_RANGE})"):
            app = Python("granian worker\nGET /health ->\ncoalesced fresh ping", nodeid="app")
            pool = Blank("asyncpg pool\n(POOL_MAX_SIZE per\nworker and target)", nodeid="pool")
        writer = Aurora("Aurora writer\nSELECT 1", nodeid="writer")
        metrics = Prometheus("Prometheus\n(latency, errors)", nodeid="metrics")
        user >> Edge(label="HTTPS") >> edge >> waf >> alb
        user >> Edge(label="today: direct", style="dashed") >> alb
        alb >> Edge(label="HTTP to pod IP :8080") >> app
        app >> pool >> Edge(label="TLS :5432\n(PING_TIMEOUT_SECONDS)") >> writer
        writer >> Edge(label="200 UP / 500 DOWN", style="dashed") >> app
        metrics >> Edge(label="scrape", style="dotted") >> app
    return d


def rehearsal() -> _Source:
    """Draw the local rehearsal: the production topology on loopback."""
    with _diagram("Local rehearsal (make up): production topology on 127.0.0.1", "rehearsal") as d:
        load = Users("load generator\n(rehearsals)", nodeid="load")
        with Cluster("supervisord"):
            lb = Haproxy("HAProxy app-lb\n(the ALB's role)", nodeid="applb")
            apps = [
                Python(f"test-app {i}\n(blue/green slots)", nodeid=f"app{i}") for i in (1, 2, 3)
            ]
            wlb = Haproxy("HAProxy pg-writer\n(writer endpoint)", nodeid="pgw")
            rlb = Haproxy("HAProxy pg-reader\n(reader endpoint)", nodeid="pgr")
            pga = Postgresql("PostgreSQL pg-a\nprimary", nodeid="pga")
            pgb = Postgresql("PostgreSQL pg-b\nstreaming standby", nodeid="pgb")
            prom = Prometheus("Prometheus\n(the same rules)", nodeid="prom")
            am = Prometheus("Alertmanager", nodeid="am")
            exporters = Prometheus("node, postgres and\nblackbox exporters", nodeid="exporters")
            agents = Python("Patroni x2\n(/primary, /replica)", nodeid="agents")
            etcd = Python("etcd\n(leader key)", nodeid="etcd")
        load >> lb >> apps
        for app in apps:
            app >> wlb
            app >> rlb
        wlb >> pga
        rlb >> pgb
        pga >> Edge(label="replication", style="dashed") >> pgb
        [wlb, rlb] >> Edge(label="health checks\nfollow a promotion", style="dotted") >> agents
        agents >> Edge(label="promotes,\npg_rewind", style="dotted") >> [pga, pgb]
        agents >> Edge(label="leader key", style="dotted") >> etcd
        prom >> Edge(style="dotted") >> apps
        prom >> Edge(style="dotted") >> exporters
        exporters >> Edge(label="probe /health", style="dotted") >> lb
        prom >> am
    return d


DIAGRAMS: dict[str, Callable[[], _Source]] = {
    "cloud": cloud,
    "cloud-azure": cloud_azure,
    "in-cluster": in_cluster,
    "delivery": delivery,
    "request-path": request_path,
    "rehearsal": rehearsal,
}

################################################################################
# DOT source, hashing, PNG chunk
################################################################################


def dot_source(build: Callable[[], _Source]) -> str:
    """Return the DOT source with absolute icon paths (what graphviz renders)."""
    return str(build().dot.source)


def normalise(source: str) -> str:
    """Make icon paths relative to the icon root, so the text is machine-independent."""
    return source.replace(str(ICON_ROOT) + "/", "")


def source_hash(source: str) -> str:
    return hashlib.sha256(normalise(source).encode()).hexdigest()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def embed_hash(png: bytes, digest: str) -> bytes:
    """Insert a `tEXt` chunk `dot-sha256` before IEND."""
    iend = png.rfind(b"IEND") - 4
    if not png.startswith(b"\x89PNG\r\n\x1a\n") or iend < 8:
        raise ValueError("graphviz did not produce a PNG")
    return png[:iend] + _chunk(b"tEXt", CHUNK_KEY + b"\0" + digest.encode()) + png[iend:]


def read_hash(png: bytes) -> str | None:
    """Return the `dot-sha256` text of a PNG, or None."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos = 8
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and data.startswith(CHUNK_KEY + b"\0"):
            return data[len(CHUNK_KEY) + 1 :].decode()
        pos += 12 + length
    return None


def dot_binary() -> str:
    found = shutil.which("dot")
    if found is None:
        sys.exit("error: graphviz `dot` is missing; run scripts/bootstrap")
    return found


def render(out: Path, names: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(DIAGRAMS):
        source = dot_source(DIAGRAMS[name])
        png = subprocess.run(
            [dot_binary(), "-Tpng"], input=source.encode(), capture_output=True, check=True
        ).stdout
        path = out / f"{name}.png"
        path.write_bytes(embed_hash(png, source_hash(source)))
        written.append(path)
    return written


def check(out: Path) -> list[str]:
    """List the problems of the PNGs in `out`: missing, not generated here, or stale."""
    problems = []
    for name, build in DIAGRAMS.items():
        path = out / f"{name}.png"
        if not path.is_file():
            problems.append(f"{path.name}: missing; run `make docs-diagrams`")
            continue
        embedded = read_hash(path.read_bytes())
        if embedded is None:
            problems.append(f"{path.name}: no {CHUNK_KEY.decode()} chunk; run `make docs-diagrams`")
        elif embedded != source_hash(dot_source(build)):
            problems.append(
                f"{path.name}: stale (made from another version of scripts/draw_diagrams.py); "
                "run `make docs-diagrams`"
            )
    extra = sorted({p.stem for p in out.glob("*.png")} - set(DIAGRAMS))
    problems += [
        f"{name}.png: not produced by scripts/draw_diagrams.py; delete it" for name in extra
    ]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if a PNG is missing or stale")
    parser.add_argument("--output", type=Path, default=OUT, help="default: docs/diagrams/")
    parser.add_argument("names", nargs="*", choices=[*DIAGRAMS, []], help="default: all")
    args = parser.parse_args()
    if args.check:
        problems = check(args.output)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for path in render(args.output, args.names or None):
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
