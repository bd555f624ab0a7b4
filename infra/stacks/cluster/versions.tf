terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Partial configuration: infra/envs/<env>/backend.tfbackend plus the bucket and
  # key given by scripts/terraform/stacks (-backend-config). Locking: S3 lock files.
  backend "s3" {}
}
