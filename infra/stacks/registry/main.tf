module "ecr" {
  source = "../../modules/ecr"

  repository_name = var.repository_name
  force_delete    = var.force_delete

  # One registry, in the build (staging) account, serves every environment: list the
  # accounts whose nodes and deploy role pull from it (docs/infrastructure.md).
  pull_account_ids = var.pull_account_ids
}
