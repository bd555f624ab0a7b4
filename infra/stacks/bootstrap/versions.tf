terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Local state: this stack creates the bucket every other stack keeps its state in.
  # scripts/terraform/stacks selects a workspace per environment (terraform.tfstate.d/<env>/).
  backend "local" {}
}
