module "ecr" {
  source = "../../modules/ecr"

  repository_name = var.repository_name
  force_delete    = var.force_delete
}
