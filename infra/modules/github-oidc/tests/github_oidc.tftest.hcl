mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  repository  = "acme/test-app"
  name_prefix = "test-app-staging"
  roles = {
    github-push = {
      description = "push"
      subjects    = ["ref:refs/heads/main", "ref:refs/tags/v*"]
      policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
    github-deploy = {
      description = "deploy"
      subjects    = ["environment:staging"]
      policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

run "trust_limited_to_the_repository" {
  command = plan

  assert {
    condition = alltrue(flatten([for k, doc in data.aws_iam_policy_document.assume : [
      for s in doc.statement : [
        for c in s.condition : alltrue([for v in c.values : startswith(v, "repo:acme/test-app:")]) if c.variable == "token.actions.githubusercontent.com:sub"
      ]
    ]]))
    error_message = "Every subject must start with repo:acme/test-app:."
  }

  assert {
    condition = join(",", sort(flatten([for s in data.aws_iam_policy_document.assume["github-deploy"].statement : [
      for c in s.condition : tolist(c.values) if c.variable == "token.actions.githubusercontent.com:sub"
    ]]))) == "repo:acme/test-app:environment:staging"
    error_message = "The deploy role must trust only the staging environment of the repository."
  }

  assert {
    condition = alltrue([for k, doc in data.aws_iam_policy_document.assume : anytrue([
      for s in doc.statement : anytrue([for c in s.condition : c.variable == "token.actions.githubusercontent.com:aud" && c.test == "StringEquals" && contains(c.values, "sts.amazonaws.com")])
    ])])
    error_message = "The audience must be sts.amazonaws.com."
  }

  assert {
    condition = alltrue([for k, doc in data.aws_iam_policy_document.assume : alltrue([
      for s in doc.statement : s.actions == toset(["sts:AssumeRoleWithWebIdentity"])
    ])])
    error_message = "Roles may only be assumed with a web identity token."
  }

  assert {
    condition     = aws_iam_openid_connect_provider.this[0].url == "https://token.actions.githubusercontent.com" && aws_iam_openid_connect_provider.this[0].client_id_list == toset(["sts.amazonaws.com"])
    error_message = "The provider must be GitHub's issuer with the STS audience."
  }

  assert {
    condition     = aws_iam_role.this["github-push"].name == "test-app-staging-github-push" && aws_iam_role.this["github-deploy"].max_session_duration == 3600
    error_message = "Role names follow <name_prefix>-<key>; sessions last an hour."
  }
}

run "managed_policies" {
  command = plan

  variables {
    roles = {
      terraform-plan = {
        description         = "plan"
        subjects            = ["pull_request"]
        policy_json         = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
        managed_policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
      }
      github-push = {
        description = "push"
        subjects    = ["ref:refs/heads/main"]
        policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
      }
    }
  }

  assert {
    condition     = [for a in aws_iam_role_policy_attachment.this : a.policy_arn] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"] && aws_iam_role_policy_attachment.this["terraform-plan/arn:aws:iam::aws:policy/ReadOnlyAccess"].role == "test-app-staging-terraform-plan"
    error_message = "Managed policies are attached only to the roles that list them."
  }
}

run "existing_provider" {
  command = plan

  variables {
    create_oidc_provider = false
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.this) == 0 && output.oidc_provider_arn == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    error_message = "Without create_oidc_provider the roles must trust the account's existing provider."
  }
}

run "disabled" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_openid_connect_provider.this) == 0
    error_message = "create = false must create nothing."
  }
}

run "wildcard_repository_rejected" {
  command = plan

  variables {
    repository = "acme/*"
  }

  expect_failures = [var.repository]
}

run "invalid_name_prefix" {
  command = plan

  variables {
    name_prefix = "1-bad prefix"
  }

  expect_failures = [var.name_prefix]
}

run "invalid_thumbprint" {
  command = plan

  variables {
    thumbprint_list = ["not-a-thumbprint"]
  }

  expect_failures = [var.thumbprint_list]
}

run "no_roles_rejected" {
  command = plan

  variables {
    roles = {}
  }

  expect_failures = [var.roles]
}

run "wildcard_branch_rejected" {
  command = plan

  variables {
    roles = {
      any = {
        description = "too broad"
        subjects    = ["ref:refs/heads/*"]
        policy_json = "{}"
      }
    }
  }

  expect_failures = [var.roles]
}

run "whole_repository_wildcard_rejected" {
  command = plan

  variables {
    roles = {
      any = {
        description = "too broad"
        subjects    = ["*"]
        policy_json = "{}"
      }
    }
  }

  expect_failures = [var.roles]
}

run "session_too_long" {
  command = plan

  variables {
    roles = {
      long = {
        description          = "too long"
        subjects             = ["ref:refs/heads/main"]
        policy_json          = "{}"
        max_session_duration = 86400
      }
    }
  }

  expect_failures = [var.roles]
}

run "invalid_managed_policy_arn" {
  command = plan

  variables {
    roles = {
      plan = {
        description         = "plan"
        subjects            = ["pull_request"]
        policy_json         = "{}"
        managed_policy_arns = ["ReadOnlyAccess"]
      }
    }
  }

  expect_failures = [var.roles]
}
