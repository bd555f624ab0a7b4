################################################################################
# Network and vault (looked up by name)
################################################################################

data "azurerm_client_config" "current" {}

data "azurerm_virtual_network" "this" {
  name                = local.name
  resource_group_name = "${local.name}-network"
}

data "azurerm_subnet" "database" {
  name                 = "database"
  virtual_network_name = data.azurerm_virtual_network.this.name
  resource_group_name  = data.azurerm_virtual_network.this.resource_group_name
}

data "azurerm_key_vault" "this" {
  name                = local.key_vault_name
  resource_group_name = "${local.name}-cluster"
}

################################################################################
# Database
################################################################################

resource "azurerm_resource_group" "this" {
  name     = "${local.name}-database"
  location = var.location

  tags = local.tags
}

# The server administrator: only the chart's db-role hook logs in with it (through External
# Secrets, while the hook runs), to create the app's least-privilege role (ADR 0015), and the
# rotation CronJob. Ephemeral: the password exists only during an apply, goes to the server and
# to Key Vault through write-only arguments, and never reaches the state or a plan, so no one
# who reads the state (the plan identity does) learns it. It is sent on create and whenever
# `administrator_password_version` is raised (a new password for both at once).
ephemeral "random_password" "administrator" {
  length  = 32
  special = false
  # PostgreSQL flexible server wants three of four character classes: never leave it to chance.
  min_upper   = 2
  min_lower   = 2
  min_numeric = 2
}

module "postgresql" {
  source = "../../modules/postgresql-flexible"

  name                           = local.global_name
  resource_group_name            = azurerm_resource_group.this.name
  location                       = var.location
  engine_version                 = var.engine_version
  sku_name                       = var.sku_name
  storage_mb                     = var.storage_mb
  delegated_subnet_id            = data.azurerm_subnet.database.id
  virtual_network_id             = data.azurerm_virtual_network.this.id
  tenant_id                      = data.azurerm_client_config.current.tenant_id
  administrator_login            = var.administrator_login
  administrator_password         = ephemeral.random_password.administrator.result
  administrator_password_version = var.administrator_password_version
  backup_retention_days          = var.backup_retention_days
  geo_redundant_backup_enabled   = var.geo_redundant_backup_enabled
  replica_zones                  = var.replica_zones

  tags = local.tags
}

################################################################################
# Credentials (External Secrets copies them into the cluster)
################################################################################

# JSON with `username` and `password`, the shape the chart's ExternalSecrets map, like the
# Aurora-managed master secret on AWS. Only the db-role hook and the rotation read it
# (`dbRole.adminRemoteSecretName`).
#
# Written through Azure Resource Manager (azapi), not the vault's data plane: ARM takes the value
# on PUT and never returns it, so refreshing this resource reads metadata only and needs no right
# to read secret values (`Microsoft.KeyVault/vaults/secrets/read`, in Reader). azurerm's
# `azurerm_key_vault_secret` reads the value on every refresh, `value_wo` included (GetSecret in
# its Read), so a plan would need "Key Vault Secrets User" on this secret. `sensitive_body` is
# write-only: the value is sent only when `sensitive_body_version` changes and is never stored.
resource "azapi_resource" "administrator_secret" {
  type      = "Microsoft.KeyVault/vaults/secrets@2023-07-01"
  name      = "${local.name}-database-admin"
  parent_id = data.azurerm_key_vault.this.id

  body = {
    properties = {
      contentType = "application/json"
    }
  }
  sensitive_body = {
    properties = {
      value = jsonencode({
        username = var.administrator_login
        password = ephemeral.random_password.administrator.result
      })
    }
  }
  # The server is created with the password of the apply that creates it, so the secret takes a
  # new value whenever the server is created anew: a new password version, or a change of an
  # argument that replaces the server (the login, geo-redundant backups, the delegated subnet).
  sensitive_body_version = {
    "properties.value" = sha1(jsonencode([
      var.administrator_password_version,
      var.administrator_login,
      var.geo_redundant_backup_enabled,
      data.azurerm_subnet.database.id,
    ]))
  }

  tags = local.tags

  # Written after the server holds the password, so a failed server create leaves no secret with
  # a password no server has.
  depends_on = [module.postgresql]

  lifecycle {
    # A PUT without a new version carries no value: only a new `administrator_password_version`
    # (which sends the value) may update the secret.
    ignore_changes = [body, tags]
  }
}

# The app's own role: the db-role hook creates `app_role_name` with this password (only when the
# role does not exist yet), and the pods log in with it (`externalSecret.remoteSecretName`).
# Terraform writes the first login only: from then on the scheduled rotation (test-app-db-role in
# the cluster, alternating users) owns the secret's value, so `ignore_changes` keeps Terraform
# from writing back an old or a replaced password the database does not know. The keeper ties
# the password to the role name; a new role name gives a new first password.
resource "random_password" "app" {
  length      = 32
  special     = false
  min_upper   = 2
  min_lower   = 2
  min_numeric = 2

  keepers = {
    role = var.app_role_name
  }
}

resource "azurerm_key_vault_secret" "database" {
  #checkov:skip=CKV_AZURE_41:The password itself does not expire; an expiry date on the secret would only make External Secrets' reads fail after it
  name         = "${local.name}-database"
  key_vault_id = data.azurerm_key_vault.this.id
  content_type = "application/json"
  value = jsonencode({
    username = var.app_role_name
    password = random_password.app.result
  })

  tags = local.tags

  lifecycle {
    ignore_changes = [value]
  }
}

################################################################################
# Rotation (the chart's CronJob, workload identity of the cluster stack)
################################################################################

# The cluster stack makes the identity (`<name>-rotation`, federated with the ServiceAccount
# test-app/test-app-rotation); the rights are granted here, where the secrets are made, each
# scoped to one secret: the vault's Azure RBAC takes a single secret as scope.
data "azurerm_user_assigned_identity" "rotation" {
  name                = "${local.name}-rotation"
  resource_group_name = "${local.name}-cluster"
}

# Reads the app's current login and writes the next one as a new version.
resource "azurerm_role_assignment" "rotation_app_login" {
  scope                            = azurerm_key_vault_secret.database.resource_versionless_id
  role_definition_name             = "Key Vault Secrets Officer"
  principal_id                     = data.azurerm_user_assigned_identity.rotation.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Reads the administrator's login to change the app's role; never writes it.
resource "azurerm_role_assignment" "rotation_administrator" {
  scope                            = azapi_resource.administrator_secret.id
  role_definition_name             = "Key Vault Secrets User"
  principal_id                     = data.azurerm_user_assigned_identity.rotation.principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

################################################################################
# Diagnostics (the cluster stack's Log Analytics workspace)
################################################################################

data "azurerm_log_analytics_workspace" "this" {
  name                = local.name
  resource_group_name = "${local.name}-cluster"
}

resource "azurerm_monitor_diagnostic_setting" "database" {
  name                       = "logs"
  target_resource_id         = module.postgresql.server_id
  log_analytics_workspace_id = data.azurerm_log_analytics_workspace.this.id

  # The server log: connections, disconnections and checkpoints (the module turns them on).
  enabled_log {
    category = "PostgreSQLLogs"
  }
}
