"""The walkthrough's teardown waits for the load balancer controller's security groups.

aws-load-balancer-controller (pkg/networking/backend_sg_provider.go) creates one shared backend
security group per cluster, tagged `elbv2.k8s.aws/cluster=<cluster>` and
`elbv2.k8s.aws/resource=backend-sg`, and deletes it itself only once no Ingress is left, while
it runs; every load balancer's own group carries the same cluster tag. A teardown that waits for
the ALB only and uninstalls the controller at once can leave a group behind, and the network
stack's destroy then fails with DependencyViolation. `problems` wants, between uninstalling the
app and uninstalling the controller, an `aws ec2 describe-security-groups` filtered on that tag
and the environment's cluster name.
"""

from __future__ import annotations

import re


CLUSTER_TAG = "elbv2.k8s.aws/cluster"  # tagKeyK8sCluster of backend_sg_provider.go
WAIT = re.compile(
    r"aws ec2 describe-security-groups --filters Name=tag:(?P<tag>[\w./-]+),Values=(?P<cluster>\S+)"
)
CONTROLLER = re.compile(r"helm uninstall [^\n]*aws-load-balancer-controller")


def problems(teardown: str, cluster: str) -> list[str]:
    """Why the teardown could uninstall the controller before its security groups are gone."""
    app = teardown.find("helm uninstall test-app ")
    controller = CONTROLLER.search(teardown)
    if app < 0 or controller is None:
        return ["the teardown uninstalls neither the app nor the load balancer controller"]
    waits = [
        m
        for m in WAIT.finditer(teardown)
        if m["tag"] == CLUSTER_TAG and app < m.start() < controller.start()
    ]
    if not waits:
        return [
            (
                "the teardown uninstalls aws-load-balancer-controller without waiting, after the "
                f"app, for the security groups tagged {CLUSTER_TAG} to be gone: the network "
                "destroy fails with DependencyViolation"
            )
        ]
    return [
        f"the security-group wait names cluster {m['cluster']!r}, not {cluster!r}"
        for m in waits
        if m["cluster"] != cluster
    ]
