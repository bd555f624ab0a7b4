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
  # The only roles the apply identity may assign or remove (the ones the network, registry,
  # cluster and database stacks assign), by built-in role ID: never Owner, User Access
  # Administrator, Role Based Access Control Administrator or Contributor, so it cannot raise
  # itself. The ci stack itself, which grants the pipeline its roles, is applied by a person.
  assignable_roles = {
    "AcrPull"                                    = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    "AcrPush"                                    = "8311e382-0749-4cb8-b61a-304f252e45ec"
    "Azure Kubernetes Service Cluster User Role" = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f"
    "Azure Kubernetes Service RBAC Writer"       = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
    "Key Vault Certificates Officer"             = "a4417e6f-fecd-4de8-b567-7b0420556985"
    "Key Vault Secrets Officer"                  = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
    "Key Vault Secrets User"                     = "4633458b-17de-408a-b874-0445c86b69e6"
    "Network Contributor"                        = "4d97b98b-1d4f-4787-a291-c67834d212e7"
    "Reader"                                     = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
  }
  assignable_role_ids = join(", ", sort(values(local.assignable_roles)))
  # learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples
  role_assignment_condition = join("", [
    "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR ",
    "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${local.assignable_role_ids}}))",
    " AND ",
    "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR ",
    "(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${local.assignable_role_ids}}))",
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
    # Plans on pull requests: reads the environment and leases the state blob (the lock). Of the
    # vault's secret values it reads only the app's login, which the database stack's refresh of
    # `azurerm_key_vault_secret.database` fetches; the administrator's secret is refreshed through
    # Azure Resource Manager (metadata, Reader), and its password is in no state. The cluster
    # user role: azurerm's refresh of the cluster lists the user kubeconfig
    # (listClusterUserCredential), which Reader lacks; with local accounts off and Azure RBAC that
    # kubeconfig carries no credential of its own.
    plan = {
      subjects = ["pull_request"]
      role_assignments = concat(
        [for id in local.resource_group_ids : { scope = id, role_definition_name = "Reader" }],
        [
          { scope = "${data.azurerm_subscription.current.id}/resourceGroups/${local.name}-cluster", role_definition_name = "Azure Kubernetes Service Cluster User Role" },
          { scope = local.state_container_id, role_definition_name = "Storage Blob Data Contributor" },
          # Reader on the container too: refreshing this stack's role assignments there reads
          # them (Microsoft.Authorization/roleAssignments/read), outside the five resource groups.
          { scope = local.state_container_id, role_definition_name = "Reader" },
          { scope = "${data.azurerm_key_vault.this.id}/secrets/${local.name}-database", role_definition_name = "Key Vault Secrets User" },
        ],
      )
    }
    # Applies from a protected GitHub environment: changes the environment's resource
    # groups only (Contributor plus role assignments there), never the subscription.
    apply = {
      subjects = ["environment:infra-${var.environment}"]
      role_assignments = concat(
        [for id in local.resource_group_ids : { scope = id, role_definition_name = "Contributor" }],
        [for id in local.resource_group_ids : { scope = id, role_definition_name = "Role Based Access Control Administrator", condition = local.role_assignment_condition }],
        [
          { scope = local.state_container_id, role_definition_name = "Storage Blob Data Contributor" },
          { scope = data.azurerm_key_vault.this.id, role_definition_name = "Key Vault Secrets Officer" },
        ],
      )
    }
  }

  tags = local.tags
}
