mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  description = "Encrypts the test data of test-app-staging"
}

run "rotating_key_administered_by_the_account" {
  command = apply

  assert {
    condition     = aws_kms_key.this[0].enable_key_rotation && output.key_rotation_enabled
    error_message = "The key must rotate."
  }

  assert {
    condition     = aws_kms_key.this[0].deletion_window_in_days == 30 && aws_kms_key.this[0].description == var.description
    error_message = "The key keeps the longest deletion window by default and says what it encrypts."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.this[0].statement : s.sid] == ["AccountAdministration"] && one(one(data.aws_iam_policy_document.this[0].statement).principals).identifiers == toset(["arn:aws:iam::123456789012:root"])
    # Without the account root the key becomes unmanageable (AWS default key policy).
    error_message = "Without a log group, only the account administers and uses the key."
  }

  assert {
    condition     = output.key_arn == "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" && output.key_id == "1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "The outputs must name the created key."
  }

  assert {
    condition     = length(aws_kms_alias.this) == 0 && output.alias_name == null
    error_message = "No alias unless one is asked for."
  }
}

run "cloudwatch_logs_statement_bound_to_one_log_group" {
  command = plan

  variables {
    cloudwatch_logs_log_group_name = "/aws/eks/test-app-staging/cluster"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.this[0].statement : s.sid] == ["AccountAdministration", "CloudWatchLogs"]
    error_message = "A log group adds exactly one statement for CloudWatch Logs."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.this[0].statement[1].principals).identifiers == toset(["logs.eu-central-1.amazonaws.com"])
    error_message = "Only the regional Logs service may use the key."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.this[0].statement[1].condition).values == tolist(["arn:aws:logs:eu-central-1:123456789012:log-group:/aws/eks/test-app-staging/cluster"])
    error_message = "The Logs service may use the key for that log group only."
  }

  assert {
    condition     = !contains(data.aws_iam_policy_document.this[0].statement[1].actions, "kms:*")
    error_message = "The Logs service gets data-key actions, never administration."
  }
}

run "alias" {
  command = apply

  variables {
    alias_name = "eks/test-app-staging"
  }

  assert {
    condition     = aws_kms_alias.this[0].name == "alias/eks/test-app-staging" && output.alias_name == "alias/eks/test-app-staging"
    error_message = "The alias must be alias/<alias_name>."
  }
}

run "disabled" {
  command = plan

  variables {
    create                         = false
    alias_name                     = "eks/test-app-staging"
    cloudwatch_logs_log_group_name = "/aws/eks/test-app-staging/cluster"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && length(aws_kms_alias.this) == 0 && length(data.aws_iam_policy_document.this) == 0
    error_message = "create = false must create nothing."
  }

  assert {
    condition     = output.key_arn == null && output.key_rotation_enabled == null
    error_message = "A disabled module has no key to output."
  }
}

run "invalid_deletion_window" {
  command = plan

  variables {
    deletion_window_in_days = 6
  }

  expect_failures = [var.deletion_window_in_days]
}

run "invalid_description" {
  command = plan

  variables {
    description = ""
  }

  expect_failures = [var.description]
}

run "invalid_alias_name" {
  command = plan

  variables {
    alias_name = "alias/test-app"
  }

  expect_failures = [var.alias_name]
}

run "reserved_alias_name" {
  command = plan

  variables {
    alias_name = "aws/test-app"
  }

  expect_failures = [var.alias_name]
}

run "invalid_log_group_name" {
  command = plan

  variables {
    cloudwatch_logs_log_group_name = "not a log group"
  }

  expect_failures = [var.cloudwatch_logs_log_group_name]
}
