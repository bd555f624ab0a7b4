################################################################################
# What the roles act on (looked up by name)
################################################################################

data "aws_ecr_repository" "this" {
  name = var.repository_name
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
    resources = [data.aws_ecr_repository.this.arn]
  }
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "FindTheCluster"
    actions   = ["eks:DescribeCluster"]
    resources = [data.aws_eks_cluster.this.arn]
  }
}

module "github_oidc" {
  source = "../../modules/github-oidc"

  repository           = var.github_repository
  name_prefix          = local.name
  create_oidc_provider = var.create_oidc_provider

  roles = {
    github-push = {
      description = "GitHub Actions of ${var.github_repository}: push images to ${var.repository_name}"
      subjects    = var.push_subjects
      policy_json = data.aws_iam_policy_document.push.json
    }
    github-deploy = {
      description = "GitHub Actions of ${var.github_repository}: deploy to ${local.name}"
      subjects    = coalescelist(var.deploy_subjects, ["environment:${var.environment}"])
      policy_json = data.aws_iam_policy_document.deploy.json
    }
  }
}

################################################################################
# Cluster access of the deploy role (namespace-scoped edit rights)
################################################################################

resource "aws_eks_access_entry" "deploy" {
  count = var.create_cluster_access_entry ? 1 : 0

  cluster_name  = data.aws_eks_cluster.this.name
  principal_arn = module.github_oidc.role_arns["github-deploy"]
  type          = "STANDARD"
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
