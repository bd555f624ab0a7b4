"""Start moto on 127.0.0.1 with the fixes the Terraform round trip needs.

Run it with the moto environment's Python (`.venvs/moto/bin/python`):

    .venvs/moto/bin/python scripts/terraform/moto_server.py --port-file PATH

It picks a free loopback port, writes it to PATH once the server is about to
listen, and serves until SIGTERM/SIGINT. Before serving it patches moto 5.2.5:

* every RDS instance gets its own `DbiResourceId` (moto hands all of them the same
  one, so the AWS provider finds the wrong instance and a reader's destroy hangs);
* `FakeDeleteMarker.dispose` exists (emptying a versioned bucket with
  `force_destroy` fails without it);
* a provisioned Aurora cluster reports no `ScalingConfigurationInfo` (moto returns an empty
  one, which the provider reads as a Serverless v1 configuration to remove on every plan);
* an empty lifecycle filter prefix reads back as `<Prefix></Prefix>`: the AWS SDK for Go
  decodes moto's `<Prefix/>` as "no prefix", so the provider waits forever for the rule
  it wrote (`filter {}`) to appear;
* an EKS cluster reports the `accessConfig` it was created with (moto drops it, so every
  re-plan would replace the cluster: `bootstrap_cluster_creator_admin_permissions` forces a
  new one);
* a managed node group created without `remoteAccess` reports none (moto invents an SSH key
  pair, which forces a new node group), and reports the `updateConfig` it was created with;
* a launch template version does not inherit the template's own `launch-template` tags as a
  tag specification (moto copies them, which shows as drift on every plan);
* Application Auto Scaling answers the tagging API (`TagResource`, `UntagResource`,
  `ListTagsForResource`), which moto lacks: the provider reads the tags of every scalable target;
* AWS-managed IAM policies are loaded (`MOTO_IAM_LOAD_MANAGED_POLICIES=true`),
  otherwise attaching e.g. AmazonEKSClusterPolicy returns 404.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import sys
from pathlib import Path


EXPECTED_MOTO = "5.2.5"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _patch_moto() -> None:
    import moto  # noqa: PLC0415 - imported after the environment is set
    from moto.rds import models as rds_models  # noqa: PLC0415
    from moto.s3 import models as s3_models  # noqa: PLC0415
    from moto.s3 import responses as s3_responses  # noqa: PLC0415

    _patch_eks()
    _patch_launch_templates()
    _patch_application_autoscaling_tags()

    if moto.__version__ != EXPECTED_MOTO:
        sys.exit(
            f"error: moto {EXPECTED_MOTO} expected (the patches target it), got {moto.__version__}"
        )

    original_init = rds_models.DBInstance.__init__

    def _init_with_unique_resource_id(
        self: rds_models.DBInstance, *args: object, **kwargs: object
    ) -> None:
        original_init(self, *args, **kwargs)
        self.dbi_resource_id = "db-" + secrets.token_hex(13).upper()

    rds_models.DBInstance.__init__ = _init_with_unique_resource_id  # type: ignore[method-assign]

    def _scaling_configuration_info(self: rds_models.DBCluster) -> dict[str, object] | None:
        if not self.scaling_configuration:
            return None
        return original_scaling_info.fget(self)  # type: ignore[no-any-return,union-attr]

    original_scaling_info = rds_models.DBCluster.scaling_configuration_info
    rds_models.DBCluster.scaling_configuration_info = property(_scaling_configuration_info)  # type: ignore[method-assign,assignment]

    if not hasattr(s3_models.FakeDeleteMarker, "dispose"):

        def _dispose(_self: object, garbage: bool = False) -> None:  # noqa: ARG001 - same signature as FakeKey.dispose
            return None

        s3_models.FakeDeleteMarker.dispose = _dispose  # type: ignore[attr-defined]

    original_get_lifecycle = s3_responses.S3Response.get_bucket_lifecycle

    def _get_lifecycle_with_explicit_prefix(self: object) -> tuple[object, object, object]:
        status, headers, body = original_get_lifecycle(self)
        if isinstance(body, bytes):
            body = body.replace(b"<Prefix/>", b"<Prefix></Prefix>")
        elif isinstance(body, str):
            body = body.replace("<Prefix/>", "<Prefix></Prefix>")
        return status, headers, body

    s3_responses.S3Response.get_bucket_lifecycle = _get_lifecycle_with_explicit_prefix  # type: ignore[method-assign]


def _patch_eks() -> None:
    from moto.eks import models as eks_models  # noqa: PLC0415
    from moto.eks import responses as eks_responses  # noqa: PLC0415

    original_create_cluster = eks_responses.EKSResponse.create_cluster

    def _create_cluster_keeping_access_config(self: eks_responses.EKSResponse) -> object:
        requested = self._get_param("accessConfig") or {}
        result = original_create_cluster(self)
        cluster = self.eks_backend.clusters[self._get_param("name")]
        cluster.access_config = {  # type: ignore[attr-defined]
            "authenticationMode": requested.get("authenticationMode", "CONFIG_MAP"),
            "bootstrapClusterCreatorAdminPermissions": requested.get(
                "bootstrapClusterCreatorAdminPermissions", True
            ),
        }
        return result

    eks_responses.EKSResponse.create_cluster = _create_cluster_keeping_access_config  # type: ignore[method-assign]

    original_create_nodegroup = eks_responses.EKSResponse.create_nodegroup

    def _create_nodegroup_keeping_update_config(self: eks_responses.EKSResponse) -> object:
        requested = self._get_param("updateConfig")
        result = original_create_nodegroup(self)
        if requested:
            cluster = self.eks_backend.clusters[self._get_param("name")]
            cluster.nodegroups[self._get_param("nodegroupName")].update_config = requested
        return result

    eks_responses.EKSResponse.create_nodegroup = _create_nodegroup_keeping_update_config  # type: ignore[method-assign]

    original_nodegroup_init = eks_models.Nodegroup.__init__

    def _nodegroup_without_invented_ssh_key(self: object, *args: object, **kwargs: object) -> None:
        original_nodegroup_init(self, *args, **kwargs)  # type: ignore[arg-type]
        if not kwargs.get("remote_access"):
            self.remote_access = None  # type: ignore[attr-defined]

    eks_models.Nodegroup.__init__ = _nodegroup_without_invented_ssh_key  # type: ignore[method-assign]


def _patch_launch_templates() -> None:
    from moto.ec2.models import launch_templates  # noqa: PLC0415

    original_version_init = launch_templates.LaunchTemplateVersion.__init__

    def _version_without_template_tags(self: object, *args: object, **kwargs: object) -> None:
        original_version_init(self, *args, **kwargs)  # type: ignore[arg-type]
        data = self.data  # type: ignore[attr-defined]
        specs = data.get("TagSpecifications")
        if specs:
            data["TagSpecifications"] = [
                s for s in specs if s.get("ResourceType") != "launch-template"
            ]

    launch_templates.LaunchTemplateVersion.__init__ = _version_without_template_tags  # type: ignore[method-assign]


def _patch_application_autoscaling_tags() -> None:
    from moto.applicationautoscaling import responses as aas  # noqa: PLC0415

    response_class = aas.ApplicationAutoScalingResponse
    tags: dict[str, dict[str, str]] = {}
    original_register = response_class.register_scalable_target

    def _register_keeping_tags(self: aas.ApplicationAutoScalingResponse) -> str:
        body: str = original_register(self)
        requested = self._get_param("Tags") or {}
        if requested:
            tags.setdefault(json.loads(body)["ScalableTargetARN"], {}).update(requested)
        return body

    def _list_tags_for_resource(self: aas.ApplicationAutoScalingResponse) -> str:
        return json.dumps({"Tags": tags.get(self._get_param("ResourceARN"), {})})

    def _tag_resource(self: aas.ApplicationAutoScalingResponse) -> str:
        tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def _untag_resource(self: aas.ApplicationAutoScalingResponse) -> str:
        current = tags.get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            current.pop(key, None)
        return "{}"

    response_class.register_scalable_target = _register_keeping_tags  # type: ignore[method-assign]
    response_class.list_tags_for_resource = _list_tags_for_resource  # type: ignore[attr-defined]
    response_class.tag_resource = _tag_resource  # type: ignore[attr-defined]
    response_class.untag_resource = _untag_resource  # type: ignore[attr-defined]


def main() -> None:
    """Parse the arguments, patch moto and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port; 0 (default) picks a free one")
    parser.add_argument("--port-file", type=Path, required=True, help="file that receives the port")
    args = parser.parse_args()

    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    _patch_moto()
    from moto.server import main as moto_main  # noqa: PLC0415

    port = args.port or _free_port()
    args.port_file.write_text(f"{port}\n", encoding="utf-8")
    moto_main(["--host", "127.0.0.1", "--port", str(port)])


if __name__ == "__main__":
    main()
