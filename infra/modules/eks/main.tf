data "aws_caller_identity" "current" {
  count = local.create ? 1 : 0
}

data "aws_partition" "current" {
  count = local.create ? 1 : 0
}

locals {
  create = var.create

  account_id = try(data.aws_caller_identity.current[0].account_id, "")
  partition  = try(data.aws_partition.current[0].partition, "aws")
  log_group  = "/aws/eks/${var.cluster_name}/cluster"
}

################################################################################
# KMS key (Kubernetes secrets and control-plane logs)
################################################################################

module "kms" {
  source = "../kms"

  create                         = local.create
  description                    = "Encrypts the Kubernetes secrets and control-plane logs of ${var.cluster_name}"
  deletion_window_in_days        = var.kms_key_deletion_window_in_days
  alias_name                     = "eks/${var.cluster_name}"
  cloudwatch_logs_log_group_name = local.log_group

  tags = var.tags
}

# Where the key lived before the shared kms module: existing states keep the same key.
moved {
  from = aws_kms_key.this
  to   = module.kms.aws_kms_key.this
}

moved {
  from = aws_kms_alias.this
  to   = module.kms.aws_kms_alias.this
}

################################################################################
# Cluster IAM role
################################################################################

data "aws_iam_policy_document" "cluster_assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  count = local.create ? 1 : 0

  name               = "${var.cluster_name}-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  count = local.create ? 1 : 0

  role       = aws_iam_role.cluster[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

# The control plane keeps logging while it is deleted; a role allowed to create log groups would
# re-create the group after Terraform deleted it, and the next apply would fail with
# ResourceAlreadyExistsException (terraform-aws-modules/terraform-aws-eks#920, whose module
# denies the same; the group is also destroyed only after the cluster, by the cluster's
# depends_on). EKS's service-linked role can still re-create it (#2763): the teardown in
# docs/getting-started.md deletes a re-created group.
resource "aws_iam_role_policy" "cluster_deny_log_group" {
  count = local.create ? 1 : 0

  name = "deny-log-group-creation"
  role = aws_iam_role.cluster[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "TerraformOwnsTheLogGroup"
        Effect   = "Deny"
        Action   = ["logs:CreateLogGroup"]
        Resource = "*"
      },
    ]
  })
}

################################################################################
# Cluster
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  count = local.create ? 1 : 0

  name              = local.log_group
  retention_in_days = var.cloudwatch_log_group_retention_in_days
  kms_key_id        = module.kms.key_arn

  tags = var.tags
}

resource "aws_eks_cluster" "this" {
  count = local.create ? 1 : 0

  #checkov:skip=CKV_AWS_39:The public endpoint is an explicit input (`cluster_endpoint_public_access`, default off); environments that deploy from GitHub-hosted runners turn it on with IAM authentication
  #checkov:skip=CKV_AWS_38:Allowed CIDRs of the public endpoint are an explicit input (`cluster_endpoint_public_access_cidrs`)
  #checkov:skip=CKV_AWS_339:checkov 3.3.30 (the newest on PyPI) lists EKS versions up to 1.35 only; platform/versions.yaml holds the pinned version's end of standard support and tests/platform/test_versions.py fails within 90 days of it
  name                      = var.cluster_name
  version                   = var.cluster_version
  role_arn                  = aws_iam_role.cluster[0].arn
  enabled_cluster_log_types = var.cluster_enabled_log_types

  # Without it the API default is EXTENDED: after the version's standard support ends the
  # control plane bills $0.60 an hour instead of $0.10, silently. STANDARD makes EKS upgrade it.
  upgrade_policy {
    support_type = "STANDARD"
  }

  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = false
  }

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.cluster_endpoint_public_access
    public_access_cidrs     = var.cluster_endpoint_public_access ? var.cluster_endpoint_public_access_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = module.kms.key_arn
    }
  }

  timeouts {
    create = var.cluster_timeouts.create
    update = var.cluster_timeouts.update
    delete = var.cluster_timeouts.delete
  }

  tags = merge({ Name = var.cluster_name }, var.tags, var.cluster_tags)

  depends_on = [aws_iam_role_policy_attachment.cluster, aws_cloudwatch_log_group.this]
}

################################################################################
# Node IAM role
################################################################################

data "aws_iam_policy_document" "node_assume" {
  count = local.create ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  count = local.create ? 1 : 0

  name               = "${var.cluster_name}-node"
  assume_role_policy = data.aws_iam_policy_document.node_assume[0].json

  tags = var.tags
}

locals {
  # The VPC CNI policy stays on the node role: the CNI must work before any pod identity agent runs.
  node_policies = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = local.create ? toset(local.node_policies) : toset([])

  role       = aws_iam_role.node[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

################################################################################
# Node security group
################################################################################

# Attached to every node next to the cluster security group. Other stacks admit
# the cluster's workloads by this group (e.g. the database), found by its Name tag.
resource "aws_security_group" "node" {
  count = local.create ? 1 : 0

  name        = "${var.cluster_name}-node"
  description = "Extra group of the ${var.cluster_name} nodes; other services admit the cluster by it"
  vpc_id      = var.vpc_id

  tags = merge({ Name = "${var.cluster_name}-node" }, var.tags)
}

resource "aws_vpc_security_group_egress_rule" "node" {
  count = local.create ? 1 : 0

  security_group_id = aws_security_group.node[0].id
  description       = "Nodes reach AWS APIs, the registry and the database"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

################################################################################
# Managed node groups (one per availability zone)
################################################################################

# One group per zone: Cluster Autoscaler can then add a node in the zone a pending pod needs
# (zone spread `DoNotSchedule`, hard anti-affinity, zonal EBS volumes), which it cannot do with
# one group over three zones. `balance-similar-node-groups` keeps the groups even. The
# `node_*_size` inputs are totals, split evenly over the zones (rounded up).
locals {
  node_groups = local.create ? { for i, subnet in var.subnet_ids : tostring(i + 1) => subnet } : {}
  zone_count  = length(var.subnet_ids)
}

resource "aws_launch_template" "node" {
  count = local.create ? 1 : 0

  name_prefix            = "${var.cluster_name}-node-"
  description            = "Nodes of ${var.cluster_name}: IMDSv2 only, encrypted root volume"
  update_default_version = true
  vpc_security_group_ids = compact([try(aws_eks_cluster.this[0].vpc_config[0].cluster_security_group_id, ""), aws_security_group.node[0].id])

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.node_disk_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge({ Name = "${var.cluster_name}-node" }, var.tags)
  }

  tags = var.tags
}

resource "aws_eks_node_group" "this" {
  for_each = local.node_groups

  cluster_name = aws_eks_cluster.this[0].name
  # A prefix, not a fixed name: EKS refuses a second group with the same name in a cluster, so
  # create_before_destroy needs the replacement to get a new name (Terraform appends a
  # 26-character unique suffix).
  node_group_name_prefix = "${var.cluster_name}-${each.key}-"
  node_role_arn          = aws_iam_role.node[0].arn
  subnet_ids             = [each.value]
  ami_type               = var.node_ami_type
  capacity_type          = var.node_capacity_type
  instance_types         = var.node_instance_types

  scaling_config {
    min_size     = ceil(var.node_min_size / local.zone_count)
    desired_size = ceil(var.node_desired_size / local.zone_count)
    max_size     = ceil(var.node_max_size / local.zone_count)
  }

  update_config {
    max_unavailable_percentage = 33
  }

  launch_template {
    id      = aws_launch_template.node[0].id
    version = aws_launch_template.node[0].latest_version
  }

  timeouts {
    create = var.node_group_timeouts.create
    update = var.node_group_timeouts.update
    delete = var.node_group_timeouts.delete
  }

  tags = merge({ Name = "${var.cluster_name}-${each.key}" }, var.tags)

  # The cluster autoscaler changes desired_size; Terraform keeps min and max. A replaced group
  # (new name from the prefix) comes up before the old one goes, so the app never loses its nodes.
  lifecycle {
    ignore_changes        = [scaling_config[0].desired_size]
    create_before_destroy = true
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

################################################################################
# Add-ons
################################################################################

locals {
  create_addons = local.create && var.create_addons
}

resource "aws_eks_addon" "this" {
  for_each = local.create_addons ? var.cluster_addons : {}

  cluster_name                = aws_eks_cluster.this[0].name
  addon_name                  = each.key
  addon_version               = each.value.addon_version
  configuration_values        = each.value.configuration_values
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags

  # coredns and ebs-csi schedule pods: they need nodes first.
  depends_on = [aws_eks_node_group.this, aws_eks_pod_identity_association.this]
}

################################################################################
# Access entries
################################################################################

locals {
  create_access_entries = local.create && var.create_access_entries
}

resource "aws_eks_access_entry" "this" {
  for_each = local.create_access_entries ? var.access_entries : {}

  cluster_name  = aws_eks_cluster.this[0].name
  principal_arn = each.value.principal_arn
  type          = "STANDARD"

  tags = var.tags
}

resource "aws_eks_access_policy_association" "this" {
  for_each = local.create_access_entries ? var.access_entries : {}

  cluster_name  = aws_eks_cluster.this[0].name
  principal_arn = aws_eks_access_entry.this[each.key].principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/${each.value.policy_name}"

  access_scope {
    type       = length(each.value.namespaces) > 0 ? "namespace" : "cluster"
    namespaces = length(each.value.namespaces) > 0 ? each.value.namespaces : null
  }
}

################################################################################
# Pod identity (IAM roles for workloads)
################################################################################

# Each role trusts only its own cluster, namespace and service account: EKS Pod Identity passes
# them as session tags (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html), so an
# association made for another service account (or cluster) cannot use the role.
data "aws_iam_policy_document" "pod_identity_assume" {
  for_each = local.create ? var.pod_identity_roles : {}

  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks-cluster-name"
      values   = [var.cluster_name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-namespace"
      values   = [each.value.namespace]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/kubernetes-service-account"
      values   = [each.value.service_account]
    }
  }
}

resource "aws_iam_role" "pod_identity" {
  for_each = local.create ? var.pod_identity_roles : {}

  name               = "${var.cluster_name}-${each.key}"
  description        = "Pod identity of ${each.value.namespace}/${each.value.service_account} in ${var.cluster_name}"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_assume[each.key].json

  tags = var.tags
}

resource "aws_iam_role_policy" "pod_identity" {
  for_each = { for k, v in var.pod_identity_roles : k => v if local.create && v.policy_json != null }

  name   = each.key
  role   = aws_iam_role.pod_identity[each.key].id
  policy = each.value.policy_json
}

locals {
  pod_identity_managed_policies = merge([
    for k, v in var.pod_identity_roles : { for p in v.managed_policy_names : "${k}/${p}" => { role = k, policy = p } }
  ]...)
}

resource "aws_iam_role_policy_attachment" "pod_identity" {
  for_each = local.create ? local.pod_identity_managed_policies : {}

  role       = aws_iam_role.pod_identity[each.value.role].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value.policy}"
}

resource "aws_eks_pod_identity_association" "this" {
  for_each = local.create && var.create_pod_identity_associations ? var.pod_identity_roles : {}

  cluster_name    = aws_eks_cluster.this[0].name
  namespace       = each.value.namespace
  service_account = each.value.service_account
  role_arn        = aws_iam_role.pod_identity[each.key].arn

  tags = var.tags
}
