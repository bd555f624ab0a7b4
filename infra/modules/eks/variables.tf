variable "create" {
  description = "Controls if any resource of this module is created. Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource of this module (on top of the provider's `default_tags`)."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# KMS key (Kubernetes secrets and control-plane logs)
################################################################################

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before the cluster KMS key is destroyed after deletion. Must be between `7` and `30`."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# Cluster
################################################################################

variable "cluster_name" {
  description = "Name of the EKS cluster, e.g. `test-app-staging`. Lowercase letters, digits and hyphens, at most 34 characters: the node group name prefixes `<cluster_name>-<n>-` plus Terraform's 26-character unique suffix must fit the 63 characters EKS allows (IAM role names derive from it too)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,33}$", var.cluster_name))
    error_message = "cluster_name must start with a lowercase letter and hold at most 34 lowercase letters, digits or hyphens."
  }
}

variable "cluster_version" {
  description = "Kubernetes version of the control plane. Valid values are the versions EKS supports in standard support (platform/versions.yaml): `1.35`, `1.36` (default)."
  type        = string
  default     = "1.36"

  validation {
    condition     = contains(["1.35", "1.36"], var.cluster_version)
    error_message = "cluster_version must be one of 1.35, 1.36."
  }
}

variable "vpc_id" {
  description = "ID of the VPC of the cluster (`vpc-...`)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the control-plane ENIs and the nodes: exactly `3`, one per availability zone. Never pass public subnets."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must list exactly 3 subnet IDs (subnet-...), one private subnet per availability zone."
  }
}

variable "cluster_endpoint_public_access" {
  description = "Exposes the Kubernetes API endpoint on the internet (IAM authentication still applies). The private endpoint is always on. Valid values are `false` (default) and `true`; see `cluster_endpoint_public_access_cidrs`."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public endpoint when `cluster_endpoint_public_access` is `true`. At least one valid IPv4 CIDR."
  type        = list(string)
  default     = ["0.0.0.0/0"]

  validation {
    condition     = length(var.cluster_endpoint_public_access_cidrs) > 0 && alltrue([for c in var.cluster_endpoint_public_access_cidrs : can(cidrhost(c, 0))])
    error_message = "cluster_endpoint_public_access_cidrs must hold at least one valid IPv4 CIDR block."
  }
}

variable "cluster_enabled_log_types" {
  description = "Control-plane logs sent to CloudWatch. Valid values are `api`, `audit`, `authenticator`, `controllerManager` and `scheduler` (default: all)."
  type        = list(string)
  default     = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  nullable    = false

  validation {
    condition     = alltrue([for t in var.cluster_enabled_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "cluster_enabled_log_types may only contain api, audit, authenticator, controllerManager, scheduler."
  }
}

variable "cloudwatch_log_group_retention_in_days" {
  description = "Retention of the control-plane log group. Must be one of CloudWatch's values of at least a year: `365`, `400`, `545`, `731`, `1096`, `1827`, `2192`, `2557`, `2922`, `3288`, `3653`."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.cloudwatch_log_group_retention_in_days)
    error_message = "cloudwatch_log_group_retention_in_days must be a CloudWatch retention value of at least 365 days."
  }
}

variable "cluster_timeouts" {
  description = "Create, update and delete timeouts of the cluster, as Go durations (e.g. `30m`)."
  type = object({
    create = optional(string, "30m")
    update = optional(string, "60m")
    delete = optional(string, "15m")
  })
  default  = {}
  nullable = false
}

variable "cluster_tags" {
  description = "Additional tags for the cluster."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Managed node group
################################################################################

variable "node_instance_types" {
  description = "Instance types of the node group, in order of preference (several types help spot capacity). At least one."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.node_instance_types) > 0
    error_message = "node_instance_types must list at least one instance type."
  }
}

variable "node_ami_type" {
  description = "AMI type of the nodes. Valid values are `AL2023_x86_64_STANDARD` (default), `AL2023_ARM_64_STANDARD`, `BOTTLEROCKET_x86_64` and `BOTTLEROCKET_ARM_64`."
  type        = string
  default     = "AL2023_x86_64_STANDARD"

  validation {
    condition     = contains(["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64", "BOTTLEROCKET_ARM_64"], var.node_ami_type)
    error_message = "node_ami_type must be one of AL2023_x86_64_STANDARD, AL2023_ARM_64_STANDARD, BOTTLEROCKET_x86_64, BOTTLEROCKET_ARM_64."
  }
}

variable "node_capacity_type" {
  description = "Capacity type of the nodes. Valid values are `ON_DEMAND` (default) and `SPOT`."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_disk_size" {
  description = "Root volume size of each node in GiB. Must be between `20` and `500`."
  type        = number
  default     = 50

  validation {
    condition     = var.node_disk_size >= 20 && var.node_disk_size <= 500
    error_message = "node_disk_size must be between 20 and 500 GiB."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes in total, split evenly over the per-zone node groups (rounded up). Must be at least `1` and at most `node_desired_size`; use `3` or more so every zone keeps a node."
  type        = number
  default     = 3

  validation {
    condition     = var.node_min_size >= 1
    error_message = "node_min_size must be at least 1."
  }
}

variable "node_desired_size" {
  description = "Initial number of nodes in total, split evenly over the zones (rounded up; the cluster autoscaler changes it afterwards). Must be between `node_min_size` and `node_max_size`."
  type        = number
  default     = 3

  validation {
    condition     = var.node_desired_size >= var.node_min_size && var.node_desired_size <= var.node_max_size
    error_message = "node_desired_size must be between node_min_size and node_max_size."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes in total the autoscaler may reach, split evenly over the zones (rounded up, so the real ceiling can be up to two nodes higher). Must be between `node_min_size` and `100`."
  type        = number
  default     = 6

  validation {
    condition     = var.node_max_size >= var.node_min_size && var.node_max_size <= 100
    error_message = "node_max_size must be between node_min_size and 100."
  }
}

variable "node_group_timeouts" {
  description = "Create, update and delete timeouts of the node group, as Go durations (e.g. `30m`)."
  type = object({
    create = optional(string, "30m")
    update = optional(string, "60m")
    delete = optional(string, "30m")
  })
  default  = {}
  nullable = false
}

################################################################################
# Add-ons
################################################################################

variable "create_addons" {
  description = "Installs the EKS add-ons in `cluster_addons`. Valid values are `true` (default) and `false` (only for emulators without the add-on API)."
  type        = bool
  default     = true
}

variable "cluster_addons" {
  description = "EKS add-ons to install, keyed by add-on name. `addon_version` null picks the default version for the cluster version; `configuration_values` is the add-on's JSON configuration (null keeps the add-on defaults). The default turns on the VPC CNI network policy agent: without it NetworkPolicies are accepted but not enforced."
  type = map(object({
    addon_version        = optional(string)
    configuration_values = optional(string)
  }))
  default = {
    "vpc-cni"                = { configuration_values = "{\"enableNetworkPolicy\":\"true\"}" }
    "coredns"                = {}
    "kube-proxy"             = {}
    "eks-pod-identity-agent" = {}
    "aws-ebs-csi-driver"     = {}
  }
  nullable = false

  validation {
    condition     = alltrue([for a in ["vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"] : contains(keys(var.cluster_addons), a)])
    error_message = "cluster_addons must include the core add-ons vpc-cni, coredns, kube-proxy and eks-pod-identity-agent."
  }

  validation {
    condition     = alltrue([for a in values(var.cluster_addons) : a.configuration_values == null || can(jsondecode(a.configuration_values))])
    error_message = "cluster_addons: configuration_values must be a JSON document (for example jsonencode({ enableNetworkPolicy = \"true\" }))."
  }
}

################################################################################
# Access entries
################################################################################

variable "create_access_entries" {
  description = "Creates the access entries in `access_entries`. Valid values are `true` (default) and `false` (only for emulators without the access entry API)."
  type        = bool
  default     = true
}

variable "access_entries" {
  description = "IAM principals allowed into the cluster, keyed by a short name. `policy_name` is an EKS access policy: `AmazonEKSClusterAdminPolicy`, `AmazonEKSAdminPolicy`, `AmazonEKSEditPolicy` or `AmazonEKSViewPolicy`; `namespaces` empty means the whole cluster."
  type = map(object({
    principal_arn = string
    policy_name   = optional(string, "AmazonEKSViewPolicy")
    namespaces    = optional(list(string), [])
  }))
  default  = {}
  nullable = false

  validation {
    condition = alltrue([for e in values(var.access_entries) :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", e.principal_arn)) &&
      contains(["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"], e.policy_name)
    ])
    error_message = "access_entries: principal_arn must be an IAM role or user ARN (arn:aws:iam::<account>:role/<name>; EKS rejects sts assumed-role session ARNs) and policy_name one of AmazonEKSClusterAdminPolicy, AmazonEKSAdminPolicy, AmazonEKSEditPolicy, AmazonEKSViewPolicy."
  }
}

################################################################################
# Pod identity (IAM roles for workloads)
################################################################################

variable "create_pod_identity_associations" {
  description = "Associates the roles of `pod_identity_roles` with their service accounts. Valid values are `true` (default) and `false` (only for emulators without the pod identity API; the roles are still created)."
  type        = bool
  default     = true
}

variable "pod_identity_roles" {
  description = "IAM roles for workloads through EKS Pod Identity, keyed by a short name used in the role name. Each names its `namespace` and `service_account`, AWS-managed policies by name (`managed_policy_names`) and/or an inline `policy_json`."
  type = map(object({
    namespace            = string
    service_account      = string
    managed_policy_names = optional(list(string), [])
    policy_json          = optional(string)
  }))
  default  = {}
  nullable = false

  validation {
    condition = alltrue([for r in values(var.pod_identity_roles) :
      can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", r.namespace)) && can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", r.service_account))
    ])
    error_message = "pod_identity_roles: namespace and service_account must be Kubernetes names (lowercase letters, digits, '-')."
  }
}
