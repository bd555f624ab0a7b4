data "aws_caller_identity" "current" {}

locals {
  state_bucket_name = coalesce(var.state_bucket_name, "test-app-tfstate-${data.aws_caller_identity.current.account_id}-${var.region}")
}

module "state_bucket" {
  source = "../../modules/state-bucket"

  bucket_name                            = local.state_bucket_name
  force_destroy                          = var.state_bucket_force_destroy
  attach_deny_insecure_transport_policy  = var.attach_deny_insecure_transport_policy
  kms_key_deletion_window_in_days        = var.kms_key_deletion_window_in_days
  noncurrent_versions_to_keep            = var.noncurrent_versions_to_keep
  abort_incomplete_multipart_upload_days = var.abort_incomplete_multipart_upload_days
}
