mock_provider "aws" {
  source = "../../tests/mocks"
}

override_data {
  target = data.aws_ecr_repository.this
  values = {
    arn  = "arn:aws:ecr:eu-central-1:123456789012:repository/test-app"
    name = "test-app"
  }
}

override_data {
  target = data.aws_eks_cluster.this
  values = {
    arn  = "arn:aws:eks:eu-central-1:123456789012:cluster/test-app-staging"
    name = "test-app-staging"
  }
}

variables {
  environment       = "staging"
  github_repository = "acme/test-app"
}

run "push_role_may_push_only_to_the_repository" {
  command = plan

  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.push.statement : contains(s.actions, "ecr:PutImage")])
    error_message = "The push role must be able to push images."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.push.statement :
      s.resources == toset(["arn:aws:ecr:eu-central-1:123456789012:repository/test-app"]) if contains(s.actions, "ecr:PutImage")
    ])
    error_message = "Image writes must be limited to the test-app repository."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.push.statement :
      s.actions == toset(["ecr:GetAuthorizationToken"]) if contains(s.resources, "*")
    ])
    error_message = "Only the registry login may use a wildcard resource."
  }
}

run "deploy_role_finds_one_cluster_and_edits_one_namespace" {
  command = plan

  assert {
    condition     = data.aws_iam_policy_document.deploy.statement[0].resources == toset(["arn:aws:eks:eu-central-1:123456789012:cluster/test-app-staging"]) && data.aws_iam_policy_document.deploy.statement[0].actions == toset(["eks:DescribeCluster"])
    error_message = "The deploy role may only describe the environment's cluster."
  }

  assert {
    condition     = aws_eks_access_policy_association.deploy[0].access_scope[0].type == "namespace" && aws_eks_access_policy_association.deploy[0].access_scope[0].namespaces == toset(["test-app"])
    error_message = "The deploy role's cluster access must be limited to the test-app namespace."
  }

  assert {
    condition     = aws_eks_access_policy_association.deploy[0].policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
    error_message = "The deploy role edits; it never administers the cluster."
  }
}

run "deploy_role_reads_the_repository_to_verify_signatures" {
  command = plan

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.deploy.statement :
      s.actions == toset(["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]) && s.resources == toset(["arn:aws:ecr:eu-central-1:123456789012:repository/test-app"])
    ])
    error_message = "The deploy role must read images and signatures of the test-app repository (cosign verify)."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.deploy.statement :
      !anytrue([for a in s.actions : contains(["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage"], a)])
    ])
    error_message = "The deploy role never writes to the registry."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.deploy.statement : s.actions == toset(["ecr:GetAuthorizationToken"]) if contains(s.resources, "*")])
    error_message = "Only the registry login may use a wildcard resource."
  }
}

run "terraform_roles" {
  command = plan

  assert {
    condition     = join(",", module.github_oidc.role_subjects["terraform-plan"]) == "repo:acme/test-app:pull_request"
    error_message = "The plan role must trust only pull requests of the repository."
  }

  assert {
    condition     = join(",", module.github_oidc.role_subjects["terraform-apply"]) == "repo:acme/test-app:environment:infra-staging"
    error_message = "The apply role must trust only the protected environment infra-staging."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.terraform_state.statement :
      alltrue([for r in s.resources : startswith(r, "arn:aws:s3:::test-app-tfstate-123456789012-eu-central-1") || startswith(r, "arn:aws:kms:eu-central-1:123456789012:key/")])
    ])
    error_message = "The state policy may only name the environment's state bucket and its KMS keys."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.terraform_state.statement :
      s.resources == toset(["arn:aws:s3:::test-app-tfstate-123456789012-eu-central-1/*.tflock"]) if contains(s.actions, "s3:PutObject") || contains(s.actions, "s3:DeleteObject")
    ])
    error_message = "State writes are limited to the lock files."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.terraform_state.statement :
      anytrue([for c in s.condition : c.variable == "kms:ViaService" && join(",", c.values) == "s3.eu-central-1.amazonaws.com"]) if contains(s.actions, "kms:Decrypt")
    ])
    error_message = "The state key may only be used through S3."
  }
}

# A plan of the database stack refreshes the app secret's version (GetSecretValue with the
# database key through Secrets Manager) and opens the ephemeral initial password
# (GetRandomPassword); ReadOnlyAccess grants neither.
run "plan_role_reads_the_app_secret_and_no_other" {
  command = plan

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.terraform_plan.statement :
      s.resources == toset(["arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/database-app-??????"]) if contains(s.actions, "secretsmanager:GetSecretValue")
    ]) && anytrue([for s in data.aws_iam_policy_document.terraform_plan.statement : contains(s.actions, "secretsmanager:GetSecretValue")])
    error_message = "The plan role may read the value of the environment's app secret, and of no other secret."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.terraform_plan.statement :
      anytrue([for c in s.condition : c.variable == "kms:ViaService" && join(",", c.values) == "secretsmanager.eu-central-1.amazonaws.com"]) &&
      anytrue([for c in s.condition : c.variable == "kms:EncryptionContext:SecretARN" && join(",", c.values) == "arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/database-app-??????"])
      if contains(s.actions, "kms:Decrypt")
    ])
    error_message = "The plan role may decrypt only through Secrets Manager, only for the app secret."
  }

  assert {
    condition = alltrue([for s in data.aws_iam_policy_document.terraform_plan.statement :
      s.actions == toset(["secretsmanager:GetRandomPassword"]) if contains(s.resources, "*")
    ])
    error_message = "Only GetRandomPassword, which names no resource, may use a wildcard resource."
  }
}

run "terraform_roles_follow_the_environment" {
  command = plan

  variables {
    environment       = "prod"
    state_bucket_name = "acme-tfstate-prod"
  }

  assert {
    condition     = join(",", module.github_oidc.role_subjects["terraform-apply"]) == "repo:acme/test-app:environment:infra-prod"
    error_message = "The prod apply role must trust only the environment infra-prod."
  }

  assert {
    condition     = contains(flatten([for s in data.aws_iam_policy_document.terraform_state.statement : tolist(s.resources)]), "arn:aws:s3:::acme-tfstate-prod")
    error_message = "state_bucket_name must replace the default bucket name."
  }
}

run "prod_reads_the_build_account_registry" {
  command = plan

  variables {
    environment         = "prod"
    registry_account_id = "111111111111"
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.deploy.statement :
      s.resources == toset(["arn:aws:ecr:eu-central-1:111111111111:repository/test-app"]) if contains(s.actions, "ecr:BatchGetImage")
    ])
    error_message = "With registry_account_id the deploy role reads the build account's repository."
  }

  assert {
    condition     = !contains(keys(module.github_oidc.role_subjects), "github-push") && output.push_role_arn == null
    error_message = "An environment without its own registry gets no push role."
  }
}

run "invalid_registry_account_id" {
  command = plan
  variables {
    registry_account_id = "staging"
  }
  expect_failures = [var.registry_account_id]
}

run "invalid_state_bucket_name" {
  command = plan
  variables {
    state_bucket_name = "Not_A_Bucket"
  }
  expect_failures = [var.state_bucket_name]
}

run "emulator_switch_drops_the_access_entry" {
  command = plan

  variables {
    create_cluster_access_entry = false
  }

  assert {
    condition     = length(aws_eks_access_entry.deploy) == 0 && length(aws_eks_access_policy_association.deploy) == 0
    error_message = "create_cluster_access_entry = false must drop the access entry."
  }
}

run "unknown_environment" {
  command = plan
  variables {
    environment = "dev"
  }
  expect_failures = [var.environment]
}

run "invalid_region" {
  command = plan
  variables {
    region = "frankfurt"
  }
  expect_failures = [var.region]
}

run "invalid_account_id" {
  command = plan
  variables {
    allowed_account_ids = ["1234"]
  }
  expect_failures = [var.allowed_account_ids]
}
