provider "aws" {
  region              = var.region
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = merge(var.tags, {
      Project     = "test-app"
      Environment = var.environment
      Stack       = "database"
      ManagedBy   = "terraform"
    })
  }
}

# The same account and region, for the ephemeral initial password alone: `terraform test` gives
# it a real provider (and turns the password off), because mock providers have no ephemeral
# resources.
provider "aws" {
  alias               = "initial_password"
  region              = var.region
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null
}
