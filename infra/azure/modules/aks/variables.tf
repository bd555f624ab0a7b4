variable "create" {
  description = "Controls if any resource is created (turns off the whole module)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Control plane identity
################################################################################

variable "node_subnet_id" {
  description = "Subnet of every node pool (its NAT gateway is the outbound path); the control plane identity gets Network Contributor on it."
  type        = string
}

################################################################################
# Cluster
################################################################################

variable "cluster_name" {
  description = "Name of the cluster, its DNS prefix and the prefix of its identities, e.g. `test-app-staging`."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group of the cluster and its identities."
  type        = string
}

variable "location" {
  description = "Azure region of the cluster; it must have three availability zones."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version, e.g. `1.36`; AKS applies patches (`automatic_upgrade_channel = patch`). Only minors in AKS standard support are accepted (platform/versions.yaml holds the end of support of the one in use)."
  type        = string

  validation {
    # The AKS release calendar (learn.microsoft.com/azure/aks/supported-kubernetes-versions):
    # 1.35 until Mar 2027, 1.36 until Jun 2027, 1.37 until Oct 2027. AKS refuses new clusters
    # on a minor past its end of life.
    condition     = contains(["1.35", "1.36", "1.37"], var.kubernetes_version)
    error_message = "kubernetes_version must be a minor AKS supports for new clusters: 1.35, 1.36 or 1.37."
  }
}

variable "tenant_id" {
  description = "Entra ID tenant of the cluster's users."
  type        = string
}

variable "admin_group_object_ids" {
  description = "Entra ID groups with cluster-admin. Other users need an Azure RBAC role on the cluster or a namespace."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "api_server_authorized_ip_ranges" {
  description = "CIDR ranges allowed to reach the API server. Empty (default) leaves it public, guarded by Entra ID."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "zones" {
  description = "Availability zones of the node pools. Valid values are `1`, `2` and `3`; default all three."
  type        = list(string)
  default     = ["1", "2", "3"]

  validation {
    condition     = length(var.zones) > 0 && alltrue([for z in var.zones : contains(["1", "2", "3"], z)])
    error_message = "zones must list zones among 1, 2 and 3."
  }
}

variable "system_node_vm_size" {
  description = "VM size of the system pool (needs a temporary disk large enough for `os_disk_size_gb`)."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "system_node_min_count" {
  description = "Minimum nodes of the system pool across the zones. Must be at least `3` (one per zone)."
  type        = number
  default     = 3

  validation {
    condition     = var.system_node_min_count >= 3
    error_message = "system_node_min_count must be at least 3."
  }
}

variable "system_node_max_count" {
  description = "Maximum nodes of the system pool."
  type        = number
  default     = 6
}

variable "os_disk_size_gb" {
  description = "Ephemeral OS disk size of every node; must fit the VM size's temporary disk."
  type        = number
  default     = 100
}

variable "pod_cidr" {
  description = "Overlay CIDR of the pods (outside the VNet), e.g. `192.168.0.0/16`."
  type        = string
  default     = "192.168.0.0/16"

  validation {
    condition     = can(cidrhost(var.pod_cidr, 0))
    error_message = "pod_cidr must be a CIDR."
  }
}

variable "service_cidr" {
  description = "CIDR of Kubernetes Services (outside the VNet); the DNS service takes its 10th address."
  type        = string
  default     = "172.16.0.0/16"

  validation {
    condition     = can(cidrhost(var.service_cidr, 10))
    error_message = "service_cidr must be a CIDR with at least 16 addresses."
  }
}

variable "app_routing_dns_zone_ids" {
  description = "Azure DNS zones the application routing add-on manages records in. Empty (default) leaves DNS to you."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "disk_encryption_set_id" {
  description = "Disk encryption set (customer-managed key) for persistent volumes and managed OS disks. Null (default) uses platform keys."
  type        = string
  default     = null
}

variable "cluster_tags" {
  description = "Additional tags for the cluster."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# User node pools (one per zone)
################################################################################

variable "user_node_vm_size" {
  description = "VM size of the user pools, where the app runs."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "user_node_min_count_per_zone" {
  description = "Minimum nodes of each zone's user pool. Must be at least `1`."
  type        = number
  default     = 1

  validation {
    condition     = var.user_node_min_count_per_zone >= 1
    error_message = "user_node_min_count_per_zone must be at least 1."
  }
}

variable "user_node_max_count_per_zone" {
  description = "Maximum nodes of each zone's user pool."
  type        = number
  default     = 3
}

################################################################################
# Registry pull
################################################################################

variable "registry_id" {
  description = "Container registry the kubelet identity may pull from (AcrPull). Null (default) grants nothing."
  type        = string
  default     = null
}

################################################################################
# Workload identities
################################################################################

variable "workload_identities" {
  description = "Identities for Kubernetes ServiceAccounts (workload identity), keyed by a short name, e.g. `{ external-secrets = { namespace = \"external-secrets\", service_account = \"external-secrets\" } }`."
  type = map(object({
    namespace       = string
    service_account = string
  }))
  default  = {}
  nullable = false
}
