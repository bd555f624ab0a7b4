mock_provider "aws" {
  source = "../../tests/mocks"
}

override_data {
  target = data.aws_vpc.this
  values = {
    id = "vpc-0a1b2c3d4e5f60718"
  }
}

override_data {
  target = data.aws_subnets.private
  values = {
    ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]
  }
}

variables {
  environment          = "staging"
  admin_principal_arns = ["arn:aws:iam::123456789012:role/Admin"]
}

run "external_secrets_reads_only_the_alertmanager_receivers_secret" {
  command = plan

  assert {
    condition = [for s in data.aws_iam_policy_document.external_secrets.statement : s.resources] == [
      toset(["arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/alertmanager-receivers-*"])
    ]
    error_message = "External Secrets may read exactly the <cluster name>/alertmanager-receivers secret (platform/manifests/alertmanager-receivers.yaml)."
  }

  assert {
    condition     = toset(one(data.aws_iam_policy_document.external_secrets.statement).actions) == toset(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "secretsmanager:ListSecretVersionIds"])
    error_message = "External Secrets gets read-only Secrets Manager actions on the receivers secret."
  }

  assert {
    condition     = contains(keys(module.eks.pod_identity_role_arns), "external-secrets")
    error_message = "The External Secrets pod identity role must exist."
  }
}

run "every_workload_role_exists" {
  command = plan

  assert {
    condition     = toset(keys(module.eks.pod_identity_role_arns)) == toset(["cluster-autoscaler", "aws-load-balancer-controller", "ebs-csi", "external-secrets"])
    error_message = "The platform add-ons need exactly these four pod identity roles."
  }

  assert {
    condition     = output.kubeconfig_command == "aws eks update-kubeconfig --region eu-central-1 --name test-app-staging"
    error_message = "The kubeconfig command must name the region and the cluster test-app-<env>."
  }
}

run "receivers_secret_follows_the_environment" {
  command = plan

  variables {
    environment = "prod"
    region      = "eu-west-1"
  }

  assert {
    condition     = one(data.aws_iam_policy_document.external_secrets.statement).resources == toset(["arn:aws:secretsmanager:eu-west-1:123456789012:secret:test-app-prod/alertmanager-receivers-*"])
    error_message = "The receivers secret is named after the cluster and lives in the stack's region."
  }
}

run "emulator_switches" {
  command = plan

  variables {
    create_addons                    = false
    create_access_entries            = false
    create_pod_identity_associations = false
  }

  assert {
    condition     = length(module.eks.pod_identity_association_ids) == 0 && length(module.eks.pod_identity_role_arns) == 4
    error_message = "Without the pod identity API the roles are still created, the associations are not."
  }
}

run "invalid_environment" {
  command = plan
  variables {
    environment = "dev"
  }
  expect_failures = [var.environment]
}

run "an_empty_admin_list_is_refused" {
  command = plan

  variables {
    admin_principal_arns = []
  }

  expect_failures = [var.admin_principal_arns]
}
