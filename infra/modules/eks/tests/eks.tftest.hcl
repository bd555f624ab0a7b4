mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  cluster_name = "test-app-staging"
  vpc_id       = "vpc-0a1b2c3d4e5f60718"
  subnet_ids   = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]
  access_entries = {
    admin = {
      principal_arn = "arn:aws:iam::123456789012:role/Administrator"
      policy_name   = "AmazonEKSClusterAdminPolicy"
    }
    viewer = {
      principal_arn = "arn:aws:iam::123456789012:role/Auditor"
      namespaces    = ["test-app"]
    }
  }
  pod_identity_roles = {
    ebs-csi = {
      namespace            = "kube-system"
      service_account      = "ebs-csi-controller-sa"
      managed_policy_names = ["service-role/AmazonEBSCSIDriverPolicy"]
    }
    external-secrets = {
      namespace       = "external-secrets"
      service_account = "external-secrets"
      policy_json     = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

run "control_plane" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this[0].version == "1.36"
    error_message = "The cluster must run the pinned Kubernetes version 1.36."
  }

  assert {
    condition     = one(aws_eks_cluster.this[0].encryption_config).resources == toset(["secrets"]) && module.kms.key_rotation_enabled
    error_message = "Kubernetes secrets must be envelope-encrypted with a rotating KMS key."
  }

  assert {
    condition     = toset(aws_eks_cluster.this[0].enabled_cluster_log_types) == toset(["api", "audit", "authenticator", "controllerManager", "scheduler"])
    error_message = "Every control-plane log type must be on by default."
  }

  assert {
    condition     = aws_eks_cluster.this[0].vpc_config[0].endpoint_private_access && !aws_eks_cluster.this[0].vpc_config[0].endpoint_public_access
    error_message = "The endpoint must be private-only by default."
  }

  assert {
    condition     = aws_eks_cluster.this[0].vpc_config[0].subnet_ids == toset(var.subnet_ids)
    error_message = "The control plane must use exactly the given private subnets."
  }

  assert {
    condition     = aws_eks_cluster.this[0].access_config[0].authentication_mode == "API" && aws_eks_cluster.this[0].access_config[0].bootstrap_cluster_creator_admin_permissions == false
    error_message = "Access must be managed by access entries only, with no implicit creator admin."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this[0].name == "/aws/eks/test-app-staging/cluster" && aws_cloudwatch_log_group.this[0].retention_in_days >= 365
    error_message = "Control-plane logs go to the EKS log group and are kept a year."
  }

  assert {
    condition     = one(aws_eks_cluster.this[0].upgrade_policy).support_type == "STANDARD"
    error_message = "The cluster must stay on standard support (the API default, EXTENDED, bills $0.60 an hour after its end)."
  }
}

run "public_endpoint_is_opt_in" {
  command = plan

  variables {
    cluster_endpoint_public_access       = true
    cluster_endpoint_public_access_cidrs = ["203.0.113.0/24"]
  }

  assert {
    condition     = aws_eks_cluster.this[0].vpc_config[0].endpoint_public_access && aws_eks_cluster.this[0].vpc_config[0].public_access_cidrs == toset(["203.0.113.0/24"])
    error_message = "The public endpoint must honour the allowed CIDRs."
  }
}

run "nodes_in_private_subnets_over_three_zones" {
  command = plan

  assert {
    condition     = length(aws_eks_node_group.this) == 3 && alltrue([for g in aws_eks_node_group.this : length(g.subnet_ids) == 1]) && toset(flatten([for g in aws_eks_node_group.this : tolist(g.subnet_ids)])) == toset(var.subnet_ids)
    error_message = "One node group per zone: each group in exactly one of the three private subnets, together all three."
  }

  assert {
    condition     = alltrue([for g in aws_eks_node_group.this : g.scaling_config[0].min_size == 1 && g.scaling_config[0].desired_size == 1 && g.scaling_config[0].max_size == 2])
    error_message = "Default scaling (totals min 3, desired 3, max 6) must split into min 1, desired 1, max 2 per zone."
  }

  assert {
    condition     = alltrue([for k, g in aws_eks_node_group.this : g.node_group_name_prefix == "test-app-staging-${k}-"])
    error_message = "Node groups must be named by prefix (test-app-staging-<n>-): with create_before_destroy a fixed name makes every replacement fail, EKS refuses a second group of the same name."
  }

  assert {
    condition     = aws_launch_template.node[0].metadata_options[0].http_tokens == "required" && aws_launch_template.node[0].metadata_options[0].http_put_response_hop_limit == 1
    error_message = "Nodes must require IMDSv2 and keep pods away from the instance metadata."
  }

  assert {
    condition     = aws_launch_template.node[0].block_device_mappings[0].ebs[0].encrypted == "true"
    error_message = "Node root volumes must be encrypted."
  }

  assert {
    condition     = toset([for a in aws_iam_role_policy_attachment.node : a.policy_arn]) == toset(["arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"])
    error_message = "The node role gets exactly the worker, CNI and registry read-only policies."
  }
}

run "core_addons" {
  command = plan

  assert {
    condition     = toset(keys(aws_eks_addon.this)) == toset(["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "aws-ebs-csi-driver"])
    error_message = "The core add-ons and the EBS CSI driver must be installed."
  }

  assert {
    condition     = jsondecode(aws_eks_addon.this["vpc-cni"].configuration_values).enableNetworkPolicy == "true"
    error_message = "The VPC CNI must run its network policy agent, or NetworkPolicies are silently not enforced."
  }
}

run "access_entries" {
  command = plan

  assert {
    condition     = aws_eks_access_policy_association.this["admin"].policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" && aws_eks_access_policy_association.this["admin"].access_scope[0].type == "cluster"
    error_message = "Administrators get cluster-wide admin."
  }

  assert {
    condition     = aws_eks_access_policy_association.this["viewer"].access_scope[0].type == "namespace" && aws_eks_access_policy_association.this["viewer"].access_scope[0].namespaces == toset(["test-app"])
    error_message = "Entries with namespaces must be scoped to them."
  }
}

run "pod_identity" {
  command = plan

  assert {
    condition     = aws_eks_pod_identity_association.this["ebs-csi"].namespace == "kube-system" && aws_eks_pod_identity_association.this["ebs-csi"].service_account == "ebs-csi-controller-sa"
    error_message = "Each workload role must be associated with its service account."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.pod_identity["ebs-csi/service-role/AmazonEBSCSIDriverPolicy"].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    error_message = "Managed policies must be attached by name."
  }

  assert {
    condition     = length(aws_iam_role_policy.pod_identity) == 1 && contains(keys(aws_iam_role_policy.pod_identity), "external-secrets")
    error_message = "Inline policies only for roles that define one."
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.pod_identity_assume["ebs-csi"].statement :
      contains(s.actions, "sts:AssumeRole") && contains(s.actions, "sts:TagSession") && anytrue([for p in s.principals : contains(p.identifiers, "pods.eks.amazonaws.com")])
    ])
    error_message = "Workload roles must trust only the EKS Pod Identity service."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.pod_identity_assume["ebs-csi"].statement :
      anytrue([for c in s.condition : c.variable == "aws:RequestTag/kubernetes-namespace" && c.values == tolist(["kube-system"])]) &&
      anytrue([for c in s.condition : c.variable == "aws:RequestTag/kubernetes-service-account" && c.values == tolist(["ebs-csi-controller-sa"])]) &&
      anytrue([for c in s.condition : c.variable == "aws:RequestTag/eks-cluster-name" && c.values == tolist([var.cluster_name])])
    ])
    error_message = "Each workload role must trust only its own cluster, namespace and service account (Pod Identity session tags)."
  }
}

run "emulator_switches" {
  command = plan

  variables {
    create_addons                    = false
    create_access_entries            = false
    create_pod_identity_associations = false
  }

  assert {
    condition     = length(aws_eks_addon.this) == 0 && length(aws_eks_access_entry.this) == 0 && length(aws_eks_pod_identity_association.this) == 0 && length(aws_iam_role.pod_identity) == 2
    error_message = "The switches drop add-ons, access entries and associations but keep the workload roles."
  }
}

run "disabled" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_eks_cluster.this) == 0 && length(aws_eks_node_group.this) == 0 && length(aws_iam_role.pod_identity) == 0
    error_message = "create = false must create nothing."
  }
}

run "zone_totals_round_up" {
  command = plan

  variables {
    node_min_size     = 3
    node_desired_size = 4
    node_max_size     = 7
  }

  assert {
    condition     = alltrue([for g in aws_eks_node_group.this : g.scaling_config[0].desired_size == 2 && g.scaling_config[0].max_size == 3])
    error_message = "Totals split over three zones round up (desired 4 -> 2 per zone, max 7 -> 3 per zone), never below the total."
  }
}

run "invalid_deletion_window" {
  command = plan
  variables {
    kms_key_deletion_window_in_days = 60
  }
  expect_failures = [var.kms_key_deletion_window_in_days]
}

run "invalid_cluster_name" {
  command = plan
  variables {
    cluster_name = "Test_App"
  }
  expect_failures = [var.cluster_name]
}

# EKS allows 63 characters for a node group name; Terraform appends a 26-character unique suffix
# to the prefix, so the prefix may hold 37.
run "longest_cluster_name_fits_the_node_group_prefix" {
  command = plan
  variables {
    cluster_name = "a234567890123456789012345678901234"
  }

  assert {
    condition     = alltrue([for g in aws_eks_node_group.this : length(g.node_group_name_prefix) + 26 <= 63])
    error_message = "With the longest cluster_name allowed, every node group name (prefix and unique suffix) must fit 63 characters."
  }
}

run "cluster_name_too_long_for_the_node_group_prefix" {
  command = plan
  variables {
    cluster_name = "a2345678901234567890123456789012345"
  }
  expect_failures = [var.cluster_name]
}

run "unsupported_version" {
  command = plan
  variables {
    cluster_version = "1.27"
  }
  expect_failures = [var.cluster_version]
}

run "invalid_vpc_id" {
  command = plan
  variables {
    vpc_id = "vpc-xyz"
  }
  expect_failures = [var.vpc_id]
}

run "two_subnets_rejected" {
  command = plan
  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  }
  expect_failures = [var.subnet_ids]
}

run "invalid_public_cidrs" {
  command = plan
  variables {
    cluster_endpoint_public_access_cidrs = ["everywhere"]
  }
  expect_failures = [var.cluster_endpoint_public_access_cidrs]
}

run "invalid_log_type" {
  command = plan
  variables {
    cluster_enabled_log_types = ["api", "kubelet"]
  }
  expect_failures = [var.cluster_enabled_log_types]
}

run "short_log_retention" {
  command = plan
  variables {
    cloudwatch_log_group_retention_in_days = 7
  }
  expect_failures = [var.cloudwatch_log_group_retention_in_days]
}

run "no_instance_types" {
  command = plan
  variables {
    node_instance_types = []
  }
  expect_failures = [var.node_instance_types]
}

run "invalid_ami_type" {
  command = plan
  variables {
    node_ami_type = "AL2_x86_64"
  }
  expect_failures = [var.node_ami_type]
}

run "invalid_capacity_type" {
  command = plan
  variables {
    node_capacity_type = "RESERVED"
  }
  expect_failures = [var.node_capacity_type]
}

run "invalid_disk_size" {
  command = plan
  variables {
    node_disk_size = 8
  }
  expect_failures = [var.node_disk_size]
}

run "invalid_min_size" {
  command = plan
  variables {
    node_min_size     = 0
    node_desired_size = 1
  }
  expect_failures = [var.node_min_size]
}

run "desired_above_max" {
  command = plan
  variables {
    node_desired_size = 9
  }
  expect_failures = [var.node_desired_size]
}

run "max_below_min" {
  command = plan
  variables {
    node_min_size     = 3
    node_desired_size = 3
    node_max_size     = 2
  }
  expect_failures = [var.node_max_size]
}

run "core_addon_missing" {
  command = plan
  variables {
    cluster_addons = { coredns = {} }
  }
  expect_failures = [var.cluster_addons]
}

run "invalid_addon_configuration" {
  command = plan
  variables {
    cluster_addons = {
      "vpc-cni"                = { configuration_values = "enableNetworkPolicy=true" }
      "coredns"                = {}
      "kube-proxy"             = {}
      "eks-pod-identity-agent" = {}
    }
  }
  expect_failures = [var.cluster_addons]
}

run "invalid_access_entry" {
  command = plan
  variables {
    access_entries = {
      bad = {
        principal_arn = "arn:aws:iam::123456789012:role/Administrator"
        policy_name   = "SuperUser"
      }
    }
  }
  expect_failures = [var.access_entries]
}

# What `aws sts get-caller-identity` prints for an SSO session: EKS refuses it as an access entry.
run "assumed_role_session_is_not_an_access_entry" {
  command = plan
  variables {
    access_entries = {
      session = {
        principal_arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/jane"
        policy_name   = "AmazonEKSClusterAdminPolicy"
      }
    }
  }
  expect_failures = [var.access_entries]
}

run "invalid_pod_identity_namespace" {
  command = plan
  variables {
    pod_identity_roles = {
      bad = {
        namespace       = "Kube_System"
        service_account = "x"
      }
    }
  }
  expect_failures = [var.pod_identity_roles]
}

run "a_deleted_log_group_is_not_re_created_by_the_cluster_role" {
  command = plan

  assert {
    condition = anytrue([
      for statement in jsondecode(aws_iam_role_policy.cluster_deny_log_group[0].policy).Statement :
      statement.Effect == "Deny" && contains(statement.Action, "logs:CreateLogGroup") && statement.Resource == "*"
    ])
    error_message = "The cluster role must not create log groups: it would re-create /aws/eks/<name>/cluster after a destroy (terraform-aws-eks#920)."
  }
}
