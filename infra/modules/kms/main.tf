data "aws_caller_identity" "current" {
  count = local.create ? 1 : 0
}

data "aws_partition" "current" {
  count = local.create ? 1 : 0
}

data "aws_region" "current" {
  count = local.create_logs_statement ? 1 : 0
}

locals {
  create = var.create

  account_id = try(data.aws_caller_identity.current[0].account_id, "")
  partition  = try(data.aws_partition.current[0].partition, "aws")
  region     = try(data.aws_region.current[0].name, "")
}

################################################################################
# Key policy
################################################################################

locals {
  create_logs_statement = local.create && var.cloudwatch_logs_log_group_name != null
}

data "aws_iam_policy_document" "this" {
  #checkov:skip=CKV_AWS_111:A KMS key policy's "*" resource is the key itself; the statements name the account root and one service
  #checkov:skip=CKV_AWS_356:A KMS key policy's "*" resource is the key itself
  #checkov:skip=CKV_AWS_109:The account root must administer the key (AWS default key policy), otherwise the key becomes unmanageable
  count = local.create ? 1 : 0

  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = local.create_logs_statement ? [var.cloudwatch_logs_log_group_name] : []

    content {
      sid       = "CloudWatchLogs"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = ["logs.${local.region}.amazonaws.com"]
      }

      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${statement.value}"]
      }
    }
  }
}

################################################################################
# Key
################################################################################

resource "aws_kms_key" "this" {
  count = local.create ? 1 : 0

  description             = var.description
  deletion_window_in_days = var.deletion_window_in_days
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.this[0].json

  tags = var.tags
}

################################################################################
# Alias
################################################################################

resource "aws_kms_alias" "this" {
  count = local.create && var.alias_name != null ? 1 : 0

  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this[0].key_id
}
