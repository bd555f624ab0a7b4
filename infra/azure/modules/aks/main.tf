locals {
  create = var.create
}

################################################################################
# Control plane identity
################################################################################

resource "azurerm_user_assigned_identity" "cluster" {
  count = local.create ? 1 : 0

  name                = "${var.cluster_name}-cluster"
  resource_group_name = var.resource_group_name
  location            = var.location

  tags = var.tags
}

# Bring-your-own subnet and NAT gateway: the control plane joins nodes to the subnet.
resource "azurerm_role_assignment" "cluster_network" {
  count = local.create ? 1 : 0

  scope                            = var.node_subnet_id
  role_definition_name             = "Network Contributor"
  principal_id                     = azurerm_user_assigned_identity.cluster[0].principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

################################################################################
# Cluster
################################################################################

resource "azurerm_kubernetes_cluster" "this" {
  #checkov:skip=CKV_AZURE_115:GitHub-hosted runners deploy, so the API server is public; Entra ID with Azure RBAC authenticates every call (local accounts are off) and `api_server_authorized_ip_ranges` narrows it
  #checkov:skip=CKV_AZURE_6:The authorized ranges are an input (`api_server_authorized_ip_ranges`); empty means the public API with Entra ID authentication, as the EKS endpoint on AWS
  #checkov:skip=CKV_AZURE_4:Metrics and logs go to the in-cluster kube-prometheus-stack (observability/), not Container Insights
  #checkov:skip=CKV_AZURE_117:OS disks are ephemeral (no managed disk to encrypt) and host encryption is on; `disk_encryption_set_id` adds a customer key for volumes
  count = local.create ? 1 : 0

  name                = var.cluster_name
  resource_group_name = var.resource_group_name
  location            = var.location
  dns_prefix          = var.cluster_name
  kubernetes_version  = var.kubernetes_version
  sku_tier            = "Standard"

  automatic_upgrade_channel = "patch"
  node_os_upgrade_channel   = "NodeImage"

  local_account_disabled            = true
  role_based_access_control_enabled = true
  oidc_issuer_enabled               = true
  workload_identity_enabled         = true
  azure_policy_enabled              = true
  image_cleaner_enabled             = true
  image_cleaner_interval_hours      = 48
  disk_encryption_set_id            = var.disk_encryption_set_id

  azure_active_directory_role_based_access_control {
    tenant_id              = var.tenant_id
    azure_rbac_enabled     = true
    admin_group_object_ids = var.admin_group_object_ids
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.cluster[0].id]
  }

  dynamic "api_server_access_profile" {
    for_each = length(var.api_server_authorized_ip_ranges) > 0 ? [1] : []

    content {
      authorized_ip_ranges = var.api_server_authorized_ip_ranges
    }
  }

  # The system pool runs only critical add-ons, spread over the three zones.
  default_node_pool {
    name                         = "system"
    vm_size                      = var.system_node_vm_size
    zones                        = var.zones
    vnet_subnet_id               = var.node_subnet_id
    auto_scaling_enabled         = true
    min_count                    = var.system_node_min_count
    max_count                    = var.system_node_max_count
    max_pods                     = 110
    only_critical_addons_enabled = true
    host_encryption_enabled      = true
    node_public_ip_enabled       = false
    os_disk_type                 = "Ephemeral"
    os_disk_size_gb              = var.os_disk_size_gb
    os_sku                       = "AzureLinux"
    temporary_name_for_rotation  = "systemtmp"

    upgrade_settings {
      max_surge = "33%"
    }

    tags = var.tags
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    pod_cidr            = var.pod_cidr
    service_cidr        = var.service_cidr
    dns_service_ip      = cidrhost(var.service_cidr, 10)
    outbound_type       = "userAssignedNATGateway"
    load_balancer_sku   = "standard"
  }

  # Nodes come from the node pools below and the cluster autoscaler (not node auto-provisioning):
  # azurerm 5 wants the mode stated.
  node_provisioning_profile {
    mode = "Manual"
  }

  # The cluster autoscaler is managed by AKS; one user pool per zone lets it grow the zone
  # that needs a node, and balancing keeps the zones even.
  auto_scaler_profile {
    balance_similar_node_groups = true
    expander                    = "least-waste"
    scale_down_unneeded         = "10m"
  }

  # The application routing add-on: managed NGINX ingress (IngressClass
  # webapprouting.kubernetes.azure.com).
  web_app_routing {
    dns_zone_ids = var.app_routing_dns_zone_ids
  }

  # What `az aks approuting update --enable-kv` turns on: the Key Vault secrets provider, through
  # which application routing reads the TLS certificate (`tls-cert-keyvault-uri`). Declared here
  # so the next apply keeps it; the add-on's identity gets read access on the vault in the
  # cluster stack (what `--attach-kv` would grant).
  key_vault_secrets_provider {
    secret_rotation_enabled  = true
    secret_rotation_interval = "2m"
  }

  # Maintenance never overlaps: control plane and node image upgrades on Tuesday 03:00-07:00 UTC,
  # node OS patches on Thursday 03:00-07:00 UTC; the PostgreSQL module keeps Sunday 03:00 UTC
  # (tests/infra_azure/test_invariants.py checks the three windows apart).
  maintenance_window_auto_upgrade {
    frequency   = "Weekly"
    interval    = 1
    duration    = 4
    day_of_week = "Tuesday"
    start_time  = "03:00"
    utc_offset  = "+00:00"
  }

  maintenance_window_node_os {
    frequency   = "Weekly"
    interval    = 1
    duration    = 4
    day_of_week = "Thursday"
    start_time  = "03:00"
    utc_offset  = "+00:00"
  }

  tags = merge(var.tags, var.cluster_tags)

  depends_on = [azurerm_role_assignment.cluster_network]
}

################################################################################
# User node pools (one per zone)
################################################################################

resource "azurerm_kubernetes_cluster_node_pool" "user" {
  for_each = local.create ? toset(var.zones) : toset([])

  name                    = "user${each.key}"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.this[0].id
  mode                    = "User"
  vm_size                 = var.user_node_vm_size
  zones                   = [each.key]
  vnet_subnet_id          = var.node_subnet_id
  auto_scaling_enabled    = true
  min_count               = var.user_node_min_count_per_zone
  max_count               = var.user_node_max_count_per_zone
  max_pods                = 110
  host_encryption_enabled = true
  node_public_ip_enabled  = false
  os_disk_type            = "Ephemeral"
  os_disk_size_gb         = var.os_disk_size_gb
  os_sku                  = "AzureLinux"

  upgrade_settings {
    max_surge = "1"
  }

  tags = var.tags
}

################################################################################
# Registry pull
################################################################################

resource "azurerm_role_assignment" "acr_pull" {
  count = local.create && var.registry_id != null ? 1 : 0

  scope                            = var.registry_id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.this[0].kubelet_identity[0].object_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

################################################################################
# Workload identities
################################################################################

# One user-assigned identity per Kubernetes ServiceAccount, trusted through the cluster's
# OIDC issuer (no secrets in the cluster).
resource "azurerm_user_assigned_identity" "workload" {
  for_each = local.create ? var.workload_identities : {}

  name                = "${var.cluster_name}-${each.key}"
  resource_group_name = var.resource_group_name
  location            = var.location

  tags = var.tags
}

resource "azurerm_federated_identity_credential" "workload" {
  for_each = local.create ? var.workload_identities : {}

  name                      = "${var.cluster_name}-${each.key}"
  user_assigned_identity_id = azurerm_user_assigned_identity.workload[each.key].id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = azurerm_kubernetes_cluster.this[0].oidc_issuer_url
  subject                   = "system:serviceaccount:${each.value.namespace}:${each.value.service_account}"
}
