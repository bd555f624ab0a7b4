locals {
  create = var.create
}

################################################################################
# Identities
################################################################################

# One user-assigned identity per pipeline role. GitHub's OIDC token is exchanged for an Entra
# ID token only when its subject matches a federated credential: no client secret exists.
resource "azurerm_user_assigned_identity" "this" {
  for_each = local.create ? var.identities : {}

  name                = "${var.name_prefix}-${each.key}"
  resource_group_name = var.resource_group_name
  location            = var.location

  tags = var.tags
}

################################################################################
# Federated credentials
################################################################################

locals {
  credentials = merge([
    for role, identity in var.identities : {
      for i, subject in identity.subjects : "${role}-${i}" => { role = role, subject = subject }
    }
  ]...)
}

resource "azurerm_federated_identity_credential" "this" {
  for_each = local.create ? local.credentials : {}

  name                      = "${var.name_prefix}-${each.key}"
  user_assigned_identity_id = azurerm_user_assigned_identity.this[each.value.role].id
  audience                  = ["api://AzureADTokenExchange"]
  issuer                    = "https://token.actions.githubusercontent.com"
  subject                   = "repo:${var.github_repository}:${each.value.subject}"
}

################################################################################
# Role assignments
################################################################################

locals {
  role_assignments = merge([
    for role, identity in var.identities : {
      for i, assignment in identity.role_assignments : "${role}-${i}" => merge(assignment, { role = role })
    }
  ]...)
}

resource "azurerm_role_assignment" "this" {
  for_each = local.create ? local.role_assignments : {}

  scope                            = each.value.scope
  role_definition_name             = each.value.role_definition_name
  principal_id                     = azurerm_user_assigned_identity.this[each.value.role].principal_id
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = true
  condition                        = each.value.condition
  condition_version                = each.value.condition == null ? null : "2.0"
}
