data "aws_partition" "current" {
  count = local.create_pull_policy ? 1 : 0
}

locals {
  create = var.create
}

################################################################################
# KMS key
################################################################################

locals {
  create_kms_key = local.create && var.create_kms_key
  kms_key_arn    = local.create_kms_key ? module.kms.key_arn : var.kms_key_arn
}

module "kms" {
  source = "../kms"

  create                  = local.create_kms_key
  description             = "Encrypts the images of the ECR repository ${var.repository_name}"
  deletion_window_in_days = var.kms_key_deletion_window_in_days

  tags = var.tags
}

# Where the key lived before the shared kms module: existing states keep the same key.
moved {
  from = aws_kms_key.this
  to   = module.kms.aws_kms_key.this
}

################################################################################
# Repository
################################################################################

resource "aws_ecr_repository" "this" {
  count = local.create ? 1 : 0

  name                 = var.repository_name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = local.kms_key_arn
  }

  tags = merge({ Name = var.repository_name }, var.tags, var.repository_tags)
}

################################################################################
# Repository policy: pulls from other accounts (read-only)
################################################################################

locals {
  create_pull_policy = local.create && length(var.pull_account_ids) > 0
}

data "aws_iam_policy_document" "pull" {
  count = local.create_pull_policy ? 1 : 0

  statement {
    sid = "PullFromOtherAccounts"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
    ]

    principals {
      type        = "AWS"
      identifiers = [for id in sort(var.pull_account_ids) : "arn:${data.aws_partition.current[0].partition}:iam::${id}:root"]
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  count = local.create_pull_policy ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy     = data.aws_iam_policy_document.pull[0].json
}

################################################################################
# Lifecycle policy
################################################################################

resource "aws_ecr_lifecycle_policy" "this" {
  count = local.create ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after ${var.untagged_image_expiration_days} days"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_image_expiration_days
        }
        action = { type = "expire" }
      },
      # ECR counts every manifest a rule selects, cosign's signatures too, and a rule still
      # counts the images a higher-priority rule selected (it cannot expire them): a separate
      # rule for `sha256-*` would not stop them counting here, and release tags (git SHAs) have
      # no pattern of their own. So the count is releases times the manifests of one release.
      {
        rulePriority = 2
        description  = "Keep the last ${var.releases_to_keep} releases (${var.releases_to_keep * var.manifests_per_release} manifests)"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.releases_to_keep * var.manifests_per_release
        }
        action = { type = "expire" }
      },
    ]
  })
}
