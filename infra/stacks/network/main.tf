data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only a fallback when `azs` is empty; the zones land in state and the subnets, so a change shows up as a planned replacement
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

module "vpc" {
  source = "../../modules/vpc"

  name               = local.name
  cidr               = var.vpc_cidr
  azs                = length(var.azs) > 0 ? var.azs : slice(sort(data.aws_availability_zones.available.names), 0, 3)
  single_nat_gateway = var.single_nat_gateway
  enable_flow_log    = true

  # Subnet tags the other stacks look the network up by (see docs/infrastructure.md).
  private_subnet_tags = { "kubernetes.io/cluster/${local.name}" = "shared" }
  public_subnet_tags  = { "kubernetes.io/cluster/${local.name}" = "shared" }
}
