################################################################################
# Network and cluster (looked up by name and tags)
################################################################################

data "aws_vpc" "this" {
  tags = { Name = local.name }
}

data "aws_subnets" "private" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.this.id]
  }

  tags = { Tier = "private" }
}

data "aws_subnet" "private" {
  for_each = toset(data.aws_subnets.private.ids)

  id = each.value
}

# The extra security group every node of the cluster carries (cluster stack).
data "aws_security_group" "nodes" {
  vpc_id = data.aws_vpc.this.id
  tags   = { Name = "${local.name}-node" }
}

################################################################################
# Database
################################################################################

module "aurora" {
  source = "../../modules/aurora-postgresql"

  name                       = local.name
  engine_version             = var.engine_version
  instance_class             = var.instance_class
  database_name              = var.database_name
  vpc_id                     = data.aws_vpc.this.id
  subnet_ids                 = sort(data.aws_subnets.private.ids)
  availability_zones         = sort(distinct([for s in data.aws_subnet.private : s.availability_zone]))
  allowed_security_group_ids = [data.aws_security_group.nodes.id]

  backup_retention_period      = var.backup_retention_period
  deletion_protection          = var.deletion_protection
  skip_final_snapshot          = var.skip_final_snapshot
  apply_immediately            = var.apply_immediately
  performance_insights_enabled = var.performance_insights_enabled
  timeouts                     = var.timeouts

  autoscaling_enabled      = var.autoscaling_enabled
  autoscaling_min_capacity = var.reader_min_count
  autoscaling_max_capacity = var.reader_max_count
  autoscaling_target_cpu   = var.reader_target_cpu
}

################################################################################
# External Secrets: read access to the master secret only
################################################################################

data "aws_iam_role" "external_secrets" {
  count = var.grant_external_secrets_read ? 1 : 0

  name = "${local.name}-external-secrets"
}

data "aws_iam_policy_document" "external_secrets" {
  count = var.grant_external_secrets_read ? 1 : 0

  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [module.aurora.cluster_master_user_secret_arn]
  }

  statement {
    sid       = "DecryptDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [module.aurora.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "external_secrets" {
  count = var.grant_external_secrets_read ? 1 : 0

  name   = "read-${local.name}-database-secret"
  role   = data.aws_iam_role.external_secrets[0].name
  policy = data.aws_iam_policy_document.external_secrets[0].json
}
