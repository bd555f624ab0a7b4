################################################################################
# What the roles act on (looked up by name)
################################################################################

data "aws_ecr_repository" "this" {
  count = var.registry_account_id == null ? 1 : 0

  name = var.repository_name
}

locals {
  own_registry   = var.registry_account_id == null
  repository_arn = local.own_registry ? data.aws_ecr_repository.this[0].arn : "arn:${data.aws_partition.current.partition}:ecr:${var.region}:${var.registry_account_id}:repository/${var.repository_name}"
}

data "aws_eks_cluster" "this" {
  name = local.name
}

data "aws_partition" "current" {}

################################################################################
# GitHub Actions roles (OIDC, no long-lived keys)
################################################################################

data "aws_iam_policy_document" "push" {
  statement {
    sid       = "Login"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushToOneRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [local.repository_arn]
  }
}

# The deploy job verifies the image's cosign signature (stored next to the image in the
# repository) before `helm upgrade`, so it reads the repository but never writes to it.
data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "FindTheCluster"
    actions   = ["eks:DescribeCluster"]
    resources = [data.aws_eks_cluster.this.arn]
  }

  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "ReadImagesAndSignatures"
    actions   = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]
    resources = [local.repository_arn]
  }
}

# Terraform in CI (.github/workflows/terraform.yml). Both roles read the state bucket
# (bootstrap stack, `test-app-tfstate-<account>-<region>` unless `state_bucket_name` is set),
# take and release S3 lock files (`<key>.tflock`) and use the state's KMS key through S3 only.
locals {
  state_bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${coalesce(var.state_bucket_name, "test-app-tfstate-${data.aws_caller_identity.current.account_id}-${var.region}")}"
}

data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "terraform_state" {
  statement {
    sid       = "ListState"
    actions   = ["s3:ListBucket"]
    resources = [local.state_bucket_arn]
  }

  statement {
    sid       = "ReadState"
    actions   = ["s3:GetObject"]
    resources = ["${local.state_bucket_arn}/*"]
  }

  statement {
    sid       = "Locks"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.state_bucket_arn}/*.tflock"]
  }

  statement {
    sid       = "StateKeyThroughS3"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["arn:${data.aws_partition.current.partition}:kms:${var.region}:${data.aws_caller_identity.current.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]
    }
  }
}

# What a plan of the database stack reads beyond ReadOnlyAccess (whose Secrets Manager part is
# Describe*, GetResourcePolicy and List*, and whose KMS part is Describe*, Get* and List*):
# - AWS provider 5.x refreshes `aws_secretsmanager_secret_version.app` with GetSecretValue even
#   though its value is write-only (hashicorp/terraform-provider-aws#42383; the read without the
#   value came in 6.x), which decrypts with the database's KMS key through Secrets Manager;
# - Terraform opens the ephemeral `aws_secretsmanager_random_password.app` at every plan
#   (GetRandomPassword, which names no resource).
# Exactly that one secret, and its key only through Secrets Manager for that secret
# (docs/adr/0015-app-role-rotation-with-alternating-users.md says what it exposes).
locals {
  app_secret_arn = "arn:${data.aws_partition.current.partition}:secretsmanager:${var.region}:${data.aws_caller_identity.current.account_id}:secret:${local.name}/database-app-??????"
}

data "aws_iam_policy_document" "terraform_plan" {
  source_policy_documents = [data.aws_iam_policy_document.terraform_state.json]

  statement {
    sid       = "RefreshTheAppSecretVersion"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.app_secret_arn]
  }

  statement {
    sid       = "AppSecretKeyThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${data.aws_partition.current.partition}:kms:${var.region}:${data.aws_caller_identity.current.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:SecretARN"
      values   = [local.app_secret_arn]
    }
  }

  statement {
    sid       = "OpenTheInitialPassword"
    actions   = ["secretsmanager:GetRandomPassword"]
    resources = ["*"]
  }
}

module "github_oidc" {
  source = "../../modules/github-oidc"

  repository           = var.github_repository
  name_prefix          = local.name
  create_oidc_provider = var.create_oidc_provider

  roles = merge(local.own_registry ? {
    github-push = {
      description = "GitHub Actions of ${var.github_repository}: push images to ${var.repository_name}"
      subjects    = var.push_subjects
      policy_json = data.aws_iam_policy_document.push.json
    }
    } : {}, {
    github-deploy = {
      description = "GitHub Actions of ${var.github_repository}: deploy to ${local.name}"
      subjects    = coalescelist(var.deploy_subjects, ["environment:${var.environment}"])
      policy_json = data.aws_iam_policy_document.deploy.json
    }
    # Plans of pull requests: read everything but secret values, write nothing but lock files;
    # the one secret value a plan refreshes is the database stack's app secret (above).
    terraform-plan = {
      description         = "GitHub Actions of ${var.github_repository}: terraform plan of ${local.name} (read-only)"
      subjects            = ["pull_request"]
      policy_json         = data.aws_iam_policy_document.terraform_plan.json
      managed_policy_arns = ["arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess"]
    }
    # Applies from main: creates IAM roles, EKS, VPCs, databases, so it is an
    # administrator. The control is who can assume it: only jobs of the protected
    # GitHub environment infra-<env>, whose required reviewers approve each apply.
    terraform-apply = {
      description         = "GitHub Actions of ${var.github_repository}: terraform apply of ${local.name} (environment infra-${var.environment})"
      subjects            = ["environment:infra-${var.environment}"]
      policy_json         = data.aws_iam_policy_document.terraform_state.json
      managed_policy_arns = ["arn:${data.aws_partition.current.partition}:iam::aws:policy/AdministratorAccess"]
    }
  })
}

################################################################################
# Cluster access of the deploy role (namespace-scoped edit rights)
################################################################################

# The edit access policy grants nothing on custom resources (ExternalSecret, ServiceMonitor,
# PrometheusRule, Probe); the Kubernetes groups get those through the RBAC the platform creates
# (platform/manifests/deploy-rbac.yaml).
resource "aws_eks_access_entry" "deploy" {
  count = var.create_cluster_access_entry ? 1 : 0

  cluster_name      = data.aws_eks_cluster.this.name
  principal_arn     = module.github_oidc.role_arns["github-deploy"]
  type              = "STANDARD"
  kubernetes_groups = var.deploy_kubernetes_groups
}

resource "aws_eks_access_policy_association" "deploy" {
  count = var.create_cluster_access_entry ? 1 : 0

  cluster_name  = data.aws_eks_cluster.this.name
  principal_arn = aws_eks_access_entry.deploy[0].principal_arn
  policy_arn    = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"

  access_scope {
    type       = "namespace"
    namespaces = var.deploy_namespaces
  }
}
