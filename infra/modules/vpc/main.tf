data "aws_caller_identity" "current" {
  count = local.create_flow_log ? 1 : 0
}

locals {
  create = var.create

  az_count     = length(var.azs)
  nat_count    = local.create && var.enable_nat_gateway ? (var.single_nat_gateway ? 1 : local.az_count) : 0
  public_cidrs = [for i in range(local.az_count) : cidrsubnet(var.cidr, var.public_subnet_newbits, i)]
  # Private subnets start in the upper half of the range: they hold nodes and pods and need room.
  private_cidrs = [for i in range(local.az_count) : cidrsubnet(var.cidr, var.private_subnet_newbits, pow(2, var.private_subnet_newbits - 1) + i)]
}

################################################################################
# VPC
################################################################################

resource "aws_vpc" "this" {
  count = local.create ? 1 : 0

  cidr_block           = var.cidr
  enable_dns_hostnames = true
  enable_dns_support   = true

  tags = merge({ Name = var.name }, var.tags, var.vpc_tags)
}

# The default security group admits nothing: every workload gets its own group.
resource "aws_default_security_group" "this" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge({ Name = "${var.name}-default" }, var.tags)
}

################################################################################
# Public subnets
################################################################################

resource "aws_internet_gateway" "this" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge({ Name = var.name }, var.tags)
}

resource "aws_subnet" "public" {
  count = local.create ? local.az_count : 0

  vpc_id                  = aws_vpc.this[0].id
  availability_zone       = var.azs[count.index]
  cidr_block              = local.public_cidrs[count.index]
  map_public_ip_on_launch = false

  tags = merge(
    { Name = "${var.name}-public-${var.azs[count.index]}", Tier = "public", "kubernetes.io/role/elb" = "1" },
    var.tags,
    var.public_subnet_tags,
  )
}

resource "aws_route_table" "public" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge({ Name = "${var.name}-public" }, var.tags)
}

resource "aws_route" "public_internet_gateway" {
  count = local.create ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  count = local.create ? local.az_count : 0

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

################################################################################
# Private subnets
################################################################################

resource "aws_subnet" "private" {
  count = local.create ? local.az_count : 0

  vpc_id            = aws_vpc.this[0].id
  availability_zone = var.azs[count.index]
  cidr_block        = local.private_cidrs[count.index]

  tags = merge(
    { Name = "${var.name}-private-${var.azs[count.index]}", Tier = "private", "kubernetes.io/role/internal-elb" = "1" },
    var.tags,
    var.private_subnet_tags,
  )
}

# One route table per AZ, so each AZ can use its own NAT gateway.
resource "aws_route_table" "private" {
  count = local.create ? local.az_count : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge({ Name = "${var.name}-private-${var.azs[count.index]}" }, var.tags)
}

resource "aws_route_table_association" "private" {
  count = local.create ? local.az_count : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

################################################################################
# NAT gateways
################################################################################

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"

  tags = merge({ Name = "${var.name}-nat-${var.azs[count.index]}" }, var.tags)

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = merge({ Name = "${var.name}-${var.azs[count.index]}" }, var.tags, var.nat_gateway_tags)

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route" "private_nat_gateway" {
  count = local.nat_count > 0 ? local.az_count : 0

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
}

################################################################################
# Flow logs
################################################################################

locals {
  create_flow_log = local.create && var.enable_flow_log
  flow_log_group  = "/aws/vpc-flow-log/${var.name}"
  account_id      = try(data.aws_caller_identity.current[0].account_id, "")
}

module "flow_log_kms" {
  source = "../kms"

  create                         = local.create_flow_log
  description                    = "Encrypts the VPC flow logs of ${var.name}"
  deletion_window_in_days        = var.kms_key_deletion_window_in_days
  cloudwatch_logs_log_group_name = local.flow_log_group

  tags = var.tags
}

# Where the key lived before the shared kms module: existing states keep the same key.
moved {
  from = aws_kms_key.flow_log
  to   = module.flow_log_kms.aws_kms_key.this
}

resource "aws_cloudwatch_log_group" "flow_log" {
  count = local.create_flow_log ? 1 : 0

  name              = local.flow_log_group
  retention_in_days = var.flow_log_retention_in_days
  kms_key_id        = module.flow_log_kms.key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "flow_log_assume" {
  count = local.create_flow_log ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_log" {
  count = local.create_flow_log ? 1 : 0

  name               = "${var.name}-vpc-flow-log"
  assume_role_policy = data.aws_iam_policy_document.flow_log_assume[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "flow_log" {
  count = local.create_flow_log ? 1 : 0

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_log[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "flow_log" {
  count = local.create_flow_log ? 1 : 0

  name   = "write-flow-log"
  role   = aws_iam_role.flow_log[0].id
  policy = data.aws_iam_policy_document.flow_log[0].json
}

resource "aws_flow_log" "this" {
  count = local.create_flow_log ? 1 : 0

  vpc_id                   = aws_vpc.this[0].id
  traffic_type             = var.flow_log_traffic_type
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_log[0].arn
  iam_role_arn             = aws_iam_role.flow_log[0].arn
  max_aggregation_interval = 60

  tags = merge({ Name = var.name }, var.tags)
}
