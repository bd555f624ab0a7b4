locals {
  create = var.create
}

################################################################################
# Container registry
################################################################################

resource "azurerm_container_registry" "this" {
  #checkov:skip=CKV_AZURE_139:GitHub-hosted runners push from changing addresses; pushes and pulls need an Entra ID token (admin user and anonymous pull are off)
  #checkov:skip=CKV_AZURE_166:Quarantine holds every pushed image until a scanner releases it; the pipeline signs and scans before deploy instead (docs/release.md)
  #checkov:skip=CKV_AZURE_164:Docker Content Trust is being retired by Azure; images are signed with cosign and verified before deploy
  #checkov:skip=CKV_AZURE_163:Vulnerability scanning is Microsoft Defender for Containers, a subscription-level plan, not a registry argument
  #checkov:skip=CKV_AZURE_165:One region by design (multi-region is out of scope); zone redundancy covers a zone outage
  count = local.create ? 1 : 0

  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  sku                 = "Premium"

  admin_enabled                 = false
  anonymous_pull_enabled        = false
  public_network_access_enabled = var.public_network_access_enabled
  network_rule_bypass_option    = "AzureServices"
  zone_redundancy_enabled       = var.zone_redundancy_enabled
  data_endpoint_enabled         = true
  retention_policy_in_days      = var.untagged_retention_days

  tags = merge(var.tags, var.registry_tags)
}
