locals {
  create = var.create
}

################################################################################
# Key Vault
################################################################################

# Access is Azure RBAC only (no access policies). The data plane is private for workloads
# (private endpoint) and open only to `allowed_ip_ranges` for the Terraform runs that write
# secrets; every other address is denied.
resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV_AZURE_189:Terraform writes the database secret from outside the VNet; the network ACL denies every address but `allowed_ip_ranges` and trusted services
  count = local.create ? 1 : 0

  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  tenant_id           = var.tenant_id
  sku_name            = "standard"

  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = var.soft_delete_retention_days
  public_network_access_enabled = true

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.allowed_ip_ranges
  }

  tags = merge(var.tags, var.key_vault_tags)
}

################################################################################
# Private endpoint
################################################################################

resource "azurerm_private_dns_zone" "this" {
  count = local.create ? 1 : 0

  name                = "privatelink.vaultcore.azure.net"
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

resource "azurerm_private_endpoint" "this" {
  count = local.create ? 1 : 0

  name                = "${var.name}-vault"
  resource_group_name = var.resource_group_name
  location            = var.location
  subnet_id           = var.private_endpoint_subnet_id

  private_service_connection {
    name                           = "${var.name}-vault"
    private_connection_resource_id = azurerm_key_vault.this[0].id
    is_manual_connection           = false
    subresource_names              = ["vault"]
  }

  private_dns_zone_group {
    name                 = "vault"
    private_dns_zone_ids = [azurerm_private_dns_zone.this[0].id]
  }

  tags = var.tags
}

################################################################################
# Readers
################################################################################

# Read access to secret values only ("Key Vault Secrets User"), one assignment per principal.
resource "azurerm_role_assignment" "secrets_user" {
  for_each = local.create ? var.secret_reader_principal_ids : {}

  scope                            = azurerm_key_vault.this[0].id
  role_definition_name             = "Key Vault Secrets User"
  principal_id                     = each.value
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
}

# Write access to secrets ("Key Vault Secrets Officer") for the Terraform runs that store them.
resource "azurerm_role_assignment" "secrets_officer" {
  for_each = local.create ? var.secret_officer_principal_ids : {}

  scope                = azurerm_key_vault.this[0].id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = each.value
}

# Importing a certificate (`az keyvault certificate import`, the prod TLS certificate) needs the
# certificates role; the secrets role does not cover it.
resource "azurerm_role_assignment" "certificates_officer" {
  for_each = local.create ? var.certificate_officer_principal_ids : {}

  scope                = azurerm_key_vault.this[0].id
  role_definition_name = "Key Vault Certificates Officer"
  principal_id         = each.value
}
