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
  environment = "staging"
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
