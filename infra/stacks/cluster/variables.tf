variable "cluster_version" {
  description = "Kubernetes version. Default `1.36` (docs/conventions.md, platform/versions.yaml)."
  type        = string
  default     = "1.36"
}

variable "cluster_endpoint_public_access" {
  description = "Exposes the API endpoint publicly (IAM authentication still applies); needed to deploy from GitHub-hosted runners. Default `false`."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to the public endpoint when it is on."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "cluster_timeouts" {
  description = "Create, update and delete timeouts of the cluster (Go durations)."
  type = object({
    create = optional(string, "30m")
    update = optional(string, "60m")
    delete = optional(string, "15m")
  })
  default  = {}
  nullable = false
}

variable "node_instance_types" {
  description = "Instance types of the node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_capacity_type" {
  description = "`ON_DEMAND` (default) or `SPOT`."
  type        = string
  default     = "ON_DEMAND"
}

variable "node_min_size" {
  description = "Minimum nodes (3 keeps one per zone)."
  type        = number
  default     = 3
}

variable "node_desired_size" {
  description = "Initial nodes."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum nodes the cluster autoscaler may reach."
  type        = number
  default     = 6
}

variable "node_group_timeouts" {
  description = "Create, update and delete timeouts of the node group (Go durations)."
  type = object({
    create = optional(string, "30m")
    update = optional(string, "60m")
    delete = optional(string, "30m")
  })
  default  = {}
  nullable = false
}

variable "admin_principal_arns" {
  description = "IAM roles or users given cluster-admin through access entries (e.g. your SSO administrator role). The cluster creator gets no implicit access, so at least one is required while `create_access_entries` is on (infra/envs/project.toml)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.admin_principal_arns) > 0 || !var.create_access_entries
    error_message = "admin_principal_arns is empty: nobody could reach the cluster (the creator gets no implicit access). Set environments.<env>.admin_principal_arns in infra/envs/project.toml."
  }
}

variable "external_secrets_namespace" {
  description = "Namespace of the External Secrets Operator (pod identity association)."
  type        = string
  default     = "external-secrets"
}

variable "external_secrets_service_account" {
  description = "Service account of the External Secrets Operator."
  type        = string
  default     = "external-secrets"
}

variable "create_addons" {
  description = "Installs the EKS add-ons. Only the emulator profile sets `false` (no add-on API there)."
  type        = bool
  default     = true
}

variable "create_access_entries" {
  description = "Creates the access entries. Only the emulator profile sets `false`."
  type        = bool
  default     = true
}

variable "create_pod_identity_associations" {
  description = "Creates the pod identity associations. Only the emulator profile sets `false`."
  type        = bool
  default     = true
}
