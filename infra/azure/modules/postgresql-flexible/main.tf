locals {
  create = var.create
}

################################################################################
# Private DNS
################################################################################

# VNet-integrated servers resolve through a private zone named `*.postgres.database.azure.com`.
resource "azurerm_private_dns_zone" "this" {
  count = local.create ? 1 : 0

  name                = "${var.name}.private.postgres.database.azure.com"
  resource_group_name = var.resource_group_name

  tags = var.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "this" {
  count = local.create ? 1 : 0

  name                 = var.name
  private_dns_zone_id  = azurerm_private_dns_zone.this[0].id
  virtual_network_id   = var.virtual_network_id
  registration_enabled = false

  tags = var.tags
}

################################################################################
# Primary server
################################################################################

# Private access only (delegated subnet, no public endpoint), zone-redundant HA: a synchronous
# standby in `standby_zone` takes over the same host name on failure.
resource "azurerm_postgresql_flexible_server" "this" {
  #checkov:skip=CKV2_AZURE_57:Private access through VNet integration (delegated subnet, no public endpoint); Azure offers it instead of, not besides, a private endpoint
  count = local.create ? 1 : 0

  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  version             = var.engine_version
  sku_name            = var.sku_name

  delegated_subnet_id           = var.delegated_subnet_id
  private_dns_zone_id           = azurerm_private_dns_zone.this[0].id
  public_network_access_enabled = false

  # Write-only: the provider sends the password, the state never holds it (nor does a plan).
  administrator_login               = var.administrator_login
  administrator_password_wo         = var.administrator_password
  administrator_password_wo_version = var.administrator_password_version

  authentication {
    active_directory_auth_enabled = true
    password_auth_enabled         = true
    tenant_id                     = var.tenant_id
  }

  zone = var.primary_zone

  high_availability {
    mode                      = "ZoneRedundant"
    standby_availability_zone = var.standby_zone
  }

  storage_mb        = var.storage_mb
  auto_grow_enabled = true

  backup_retention_days        = var.backup_retention_days
  geo_redundant_backup_enabled = var.geo_redundant_backup_enabled

  # Sunday (0) 03:00 UTC, one hour: apart from AKS's Tuesday and Thursday windows (modules/aks).
  maintenance_window {
    day_of_week  = 0
    start_hour   = 3
    start_minute = 0
  }

  tags = merge(var.tags, var.server_tags)

  depends_on = [azurerm_private_dns_zone_virtual_network_link.this]

  lifecycle {
    # The standby swaps zones on every failover; following it back would force a move.
    # Auto-grow raises storage_mb; the configured (smaller) value would force a new server.
    # infra/azure/drift.yaml lists what Azure changes by itself (tests/infra_azure/test_drift.py).
    ignore_changes = [zone, high_availability[0].standby_availability_zone, storage_mb]
  }
}

################################################################################
# Server parameters
################################################################################

# Logging defaults can be changed through `server_parameters`; TLS cannot (merged last).
locals {
  server_parameters = merge(
    {
      log_connections              = "on"
      log_disconnections           = "on"
      log_checkpoints              = "on"
      "connection_throttle.enable" = "on"
    },
    var.server_parameters,
    {
      require_secure_transport = "on"
      ssl_min_protocol_version = "TLSv1.2"
    },
  )
}

resource "azurerm_postgresql_flexible_server_configuration" "this" {
  for_each = local.create ? local.server_parameters : {}

  name      = each.key
  server_id = azurerm_postgresql_flexible_server.this[0].id
  value     = each.value
}

################################################################################
# Read replicas
################################################################################

# Asynchronous replicas in the zones of `replica_zones`; the virtual endpoint below gives a
# stable reader host name that follows the first replica.
resource "azurerm_postgresql_flexible_server" "replica" {
  #checkov:skip=CKV2_AZURE_57:Private access through VNet integration (delegated subnet, no public endpoint); Azure offers it instead of, not besides, a private endpoint
  for_each = local.create ? toset(var.replica_zones) : toset([])

  name                = "${var.name}-replica-${each.key}"
  resource_group_name = var.resource_group_name
  location            = var.location
  version             = var.engine_version
  sku_name            = var.sku_name
  create_mode         = "Replica"
  source_server_id    = azurerm_postgresql_flexible_server.this[0].id
  zone                = each.key

  delegated_subnet_id           = var.delegated_subnet_id
  private_dns_zone_id           = azurerm_private_dns_zone.this[0].id
  public_network_access_enabled = false

  storage_mb        = var.storage_mb
  auto_grow_enabled = true

  tags = merge(var.tags, var.server_tags)

  depends_on = [azurerm_postgresql_flexible_server_configuration.this]

  lifecycle {
    # As for the primary: auto-grow raises storage_mb; a promoted replica may move zones.
    ignore_changes = [zone, storage_mb]
  }
}

resource "azurerm_postgresql_flexible_server_virtual_endpoint" "this" {
  count = local.create && length(var.replica_zones) > 0 ? 1 : 0

  # A DNS name of its own (`<name>.writer.postgres.database.azure.com`), distinct from the servers'.
  name              = "${var.name}-endpoint"
  source_server_id  = azurerm_postgresql_flexible_server.this[0].id
  replica_server_id = azurerm_postgresql_flexible_server.replica[sort(var.replica_zones)[0]].id
  type              = "ReadWrite"
}

################################################################################
# Entra ID administrator
################################################################################

resource "azurerm_postgresql_flexible_server_active_directory_administrator" "this" {
  count = local.create && var.entra_administrator != null ? 1 : 0

  server_name         = azurerm_postgresql_flexible_server.this[0].name
  resource_group_name = var.resource_group_name
  tenant_id           = var.tenant_id
  object_id           = var.entra_administrator.object_id
  principal_name      = var.entra_administrator.principal_name
  principal_type      = var.entra_administrator.principal_type
}
