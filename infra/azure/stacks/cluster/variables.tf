variable "kubernetes_version" {
  description = "Kubernetes minor version of the cluster, e.g. `1.36` (in AKS standard support until Jun 2027)."
  type        = string
  default     = "1.36"
}

variable "admin_group_object_ids" {
  description = "Entra ID groups with cluster-admin (Azure RBAC); local accounts are off."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "api_server_authorized_ip_ranges" {
  description = "CIDR ranges allowed to reach the API server. Empty (default) leaves it public behind Entra ID, as GitHub-hosted runners deploy."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "system_node_vm_size" {
  description = "VM size of the system pool."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "user_node_vm_size" {
  description = "VM size of the three per-zone user pools."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "user_node_min_count_per_zone" {
  description = "Minimum nodes of each zone's user pool."
  type        = number
  default     = 1
}

variable "user_node_max_count_per_zone" {
  description = "Maximum nodes of each zone's user pool."
  type        = number
  default     = 3
}

variable "external_secrets_namespace" {
  description = "Namespace of the External Secrets Operator (platform/)."
  type        = string
  default     = "external-secrets"
}

variable "external_secrets_service_account" {
  description = "ServiceAccount of the External Secrets Operator."
  type        = string
  default     = "external-secrets"
}

variable "app_namespace" {
  description = "Namespace of the app's release (the chart's `namespace`)."
  type        = string
  default     = "test-app"
}

variable "rotation_service_account" {
  description = "ServiceAccount of the chart's rotation CronJob: `<fullname>-rotation`, `test-app-rotation` for the release `test-app`."
  type        = string
  default     = "test-app-rotation"
}

variable "key_vault_secret_officer_object_ids" {
  description = "Entra ID object IDs (users or groups) that may write Key Vault secrets and import certificates (Secrets and Certificates Officer), keyed by a stable name, e.g. `{ operator = \"...\" }` (`az ad signed-in-user show --query id`)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "key_vault_allowed_ip_ranges" {
  description = "Public addresses allowed to reach the vault's data plane (the Terraform runs that write secrets)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "log_retention_days" {
  description = "Days the Log Analytics workspace keeps the audit logs of the cluster, the vault and the database. Default `90`."
  type        = number
  default     = 90

  validation {
    condition     = var.log_retention_days >= 30 && var.log_retention_days <= 730
    error_message = "log_retention_days must be between 30 and 730."
  }
}
