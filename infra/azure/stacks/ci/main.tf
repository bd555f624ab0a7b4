################################################################################
# What the identities act on (looked up by name)
################################################################################

data "azurerm_subscription" "current" {}

data "azurerm_container_registry" "this" {
  name                = local.registry_name
  resource_group_name = "${local.name}-registry"
}

data "azurerm_kubernetes_cluster" "this" {
  name                = local.name
  resource_group_name = "${local.name}-cluster"
}

data "azurerm_key_vault" "this" {
  name                = local.key_vault_name
  resource_group_name = "${local.name}-cluster"
}

locals {
  # Built from names: reading the account would need more than the blob role CI holds on it.
  state_container_id = join("/", [
    data.azurerm_subscription.current.id,
    "resourceGroups", local.state_resource_group_name,
    "providers/Microsoft.Storage/storageAccounts", local.state_storage_account_name,
    "blobServices/default/containers", var.state_container_name,
  ])
  # The environment's resource groups: the only scopes the apply identity may change.
  resource_group_ids = [
    for stack in ["network", "registry", "cluster", "database", "ci"] :
    "${data.azurerm_subscription.current.id}/resourceGroups/${local.name}-${stack}"
  ]
}

################################################################################
# GitHub Actions identities (OIDC federated credentials, no client secrets)
################################################################################

resource "azurerm_resource_group" "this" {
  name     = "${local.name}-ci"
  location = var.location

  tags = local.tags
}

module "github_oidc" {
  source = "../../modules/github-oidc"

  name_prefix         = "${local.name}-github"
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  github_repository   = var.github_repository

  identities = {
    # Pushes images to the one registry, nothing else.
    push = {
      subjects         = var.push_subjects
      role_assignments = [{ scope = data.azurerm_container_registry.this.id, role_definition_name = "AcrPush" }]
    }
    # Gets cluster credentials and writes only inside the app's namespaces; reads the
    # registry to verify the image signature before `helm upgrade`.
    deploy = {
      subjects = ["environment:${var.environment}"]
      role_assignments = concat(
        [
          { scope = data.azurerm_kubernetes_cluster.this.id, role_definition_name = "Azure Kubernetes Service Cluster User Role" },
          { scope = data.azurerm_container_registry.this.id, role_definition_name = "AcrPull" },
        ],
        [
          for ns in var.deploy_namespaces : {
            scope                = "${data.azurerm_kubernetes_cluster.this.id}/namespaces/${ns}"
            role_definition_name = "Azure Kubernetes Service RBAC Writer"
          }
        ],
      )
    }
    # Plans on pull requests: reads the environment and leases the state blob (the lock).
    plan = {
      subjects = ["pull_request"]
      role_assignments = concat(
        [for id in local.resource_group_ids : { scope = id, role_definition_name = "Reader" }],
        [
          { scope = local.state_container_id, role_definition_name = "Storage Blob Data Contributor" },
          { scope = data.azurerm_key_vault.this.id, role_definition_name = "Key Vault Secrets User" },
        ],
      )
    }
    # Applies from a protected GitHub environment: changes the environment's resource
    # groups only (Contributor plus role assignments there), never the subscription.
    apply = {
      subjects = ["environment:infra-${var.environment}"]
      role_assignments = concat(
        [for id in local.resource_group_ids : { scope = id, role_definition_name = "Contributor" }],
        [for id in local.resource_group_ids : { scope = id, role_definition_name = "Role Based Access Control Administrator" }],
        [
          { scope = local.state_container_id, role_definition_name = "Storage Blob Data Contributor" },
          { scope = data.azurerm_key_vault.this.id, role_definition_name = "Key Vault Secrets Officer" },
        ],
      )
    }
  }

  tags = local.tags
}
