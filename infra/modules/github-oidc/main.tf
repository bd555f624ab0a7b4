data "aws_partition" "current" {
  count = local.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = local.create ? 1 : 0
}

locals {
  create = var.create

  partition  = try(data.aws_partition.current[0].partition, "aws")
  account_id = try(data.aws_caller_identity.current[0].account_id, "")
  issuer     = "token.actions.githubusercontent.com"
}

################################################################################
# OIDC provider
################################################################################

locals {
  create_provider = local.create && var.create_oidc_provider
  provider_arn    = local.create_provider ? try(aws_iam_openid_connect_provider.this[0].arn, "") : "arn:${local.partition}:iam::${local.account_id}:oidc-provider/${local.issuer}"
}

resource "aws_iam_openid_connect_provider" "this" {
  count = local.create_provider ? 1 : 0

  url             = "https://${local.issuer}"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = var.thumbprint_list

  tags = merge({ Name = "github-actions" }, var.tags)
}

################################################################################
# Roles
################################################################################

data "aws_iam_policy_document" "assume" {
  #checkov:skip=CKV_AWS_358:Subjects are built as repo:<repository>:<subject>; the `repository` and `roles` validations forbid wildcards except in tag patterns
  for_each = local.create ? var.roles : {}

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only this repository, and only the listed refs or environments of it.
    condition {
      test     = "StringLike"
      variable = "${local.issuer}:sub"
      values   = [for s in each.value.subjects : "repo:${var.repository}:${s}"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.create ? var.roles : {}

  name                 = "${var.name_prefix}-${each.key}"
  description          = each.value.description
  assume_role_policy   = data.aws_iam_policy_document.assume[each.key].json
  max_session_duration = each.value.max_session_duration

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.create ? var.roles : {}

  name   = each.key
  role   = aws_iam_role.this[each.key].id
  policy = each.value.policy_json
}

locals {
  managed_policies = merge([
    for k, r in var.roles : { for a in r.managed_policy_arns : "${k}/${a}" => { role = k, policy_arn = a } }
  ]...)
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each = local.create ? local.managed_policies : {}

  role       = aws_iam_role.this[each.value.role].name
  policy_arn = each.value.policy_arn
}
