################################################################################
# Network and registry (looked up by name)
################################################################################

data "azurerm_client_config" "current" {}

data "azurerm_virtual_network" "this" {
  name                = local.name
  resource_group_name = "${local.name}-network"
}

data "azurerm_subnet" "nodes" {
  name                 = "nodes"
  virtual_network_name = data.azurerm_virtual_network.this.name
  resource_group_name  = data.azurerm_virtual_network.this.resource_group_name
}

data "azurerm_subnet" "private_endpoints" {
  name                 = "private-endpoints"
  virtual_network_name = data.azurerm_virtual_network.this.name
  resource_group_name  = data.azurerm_virtual_network.this.resource_group_name
}

data "azurerm_container_registry" "this" {
  name                = local.registry_name
  resource_group_name = "${local.name}-registry"
}

################################################################################
# Cluster
################################################################################

resource "azurerm_resource_group" "this" {
  name     = "${local.name}-cluster"
  location = var.location

  tags = local.tags
}

module "aks" {
  source = "../../modules/aks"

  cluster_name                    = local.name
  resource_group_name             = azurerm_resource_group.this.name
  location                        = var.location
  kubernetes_version              = var.kubernetes_version
  tenant_id                       = data.azurerm_client_config.current.tenant_id
  admin_group_object_ids          = var.admin_group_object_ids
  api_server_authorized_ip_ranges = var.api_server_authorized_ip_ranges
  node_subnet_id                  = data.azurerm_subnet.nodes.id
  registry_id                     = data.azurerm_container_registry.this.id

  system_node_vm_size          = var.system_node_vm_size
  user_node_vm_size            = var.user_node_vm_size
  user_node_min_count_per_zone = var.user_node_min_count_per_zone
  user_node_max_count_per_zone = var.user_node_max_count_per_zone

  workload_identities = {
    external-secrets = {
      namespace       = var.external_secrets_namespace
      service_account = var.external_secrets_service_account
    }
    # The chart's rotation CronJob (`test-app-db-role rotate`). Its Key Vault rights are scoped to
    # the two secrets it uses, which the database stack makes, so the database stack grants them.
    rotation = {
      namespace       = var.app_namespace
      service_account = var.rotation_service_account
    }
  }

  tags = local.tags
}

################################################################################
# Secrets (Key Vault, read by External Secrets through workload identity)
################################################################################

module "key_vault" {
  source = "../../modules/key-vault"

  name                       = local.key_vault_name
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  allowed_ip_ranges          = var.key_vault_allowed_ip_ranges
  virtual_network_id         = data.azurerm_virtual_network.this.id
  private_endpoint_subnet_id = data.azurerm_subnet.private_endpoints.id

  secret_reader_principal_ids = {
    external-secrets = module.aks.workload_identity_principal_ids["external-secrets"]
    # Application routing reads the TLS certificate (what `--attach-kv` would grant).
    app-routing = module.aks.app_routing_principal_id
  }
  # The people who apply the database stack by hand (it writes the app's credentials); the
  # pipeline's apply identity gets the same role from the ci stack. Listed by object ID, not
  # "whoever runs this", so a run by another principal changes nothing.
  secret_officer_principal_ids = var.key_vault_secret_officer_object_ids
  # The same people import the prod TLS certificate (docs/getting-started-azure.md, phase 6).
  certificate_officer_principal_ids = var.key_vault_secret_officer_object_ids

  tags = local.tags
}

################################################################################
# Diagnostics (Log Analytics)
################################################################################

# Who did what to the cluster, the vault and the database, kept outside them. Metrics and
# workload logs stay in the in-cluster stack (observability/).
resource "azurerm_log_analytics_workspace" "this" {
  name                = local.name
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days

  tags = local.tags
}

resource "azurerm_monitor_diagnostic_setting" "cluster" {
  name                       = "audit"
  target_resource_id         = module.aks.cluster_id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  # Control-plane audit of every change (not reads), and Entra ID sign-ins to the API server.
  enabled_log {
    category = "kube-audit-admin"
  }

  enabled_log {
    category = "guard"
  }
}

resource "azurerm_monitor_diagnostic_setting" "key_vault" {
  name                       = "audit"
  target_resource_id         = module.key_vault.key_vault_id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id

  enabled_log {
    category = "AuditEvent"
  }
}
