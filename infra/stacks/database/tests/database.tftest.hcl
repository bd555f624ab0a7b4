mock_provider "aws" {
  source = "../../tests/mocks"
}

# Mock providers have no ephemeral resources (Terraform 1.11): the initial password gets a real
# provider, never called because generate_initial_password is false.
provider "aws" {
  alias                       = "initial_password"
  region                      = "eu-central-1"
  access_key                  = "mock"
  secret_key                  = "mock"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
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
    ids = ["subnet-0ccccccccccccccc3", "subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  }
}

override_data {
  target = data.aws_security_group.nodes
  values = {
    id = "sg-0123456789abcdef0"
  }
}

override_module {
  target = module.aurora
  outputs = {
    cluster_endpoint               = "test-app-staging.cluster-abcdefghijkl.eu-central-1.rds.amazonaws.com"
    cluster_reader_endpoint        = "test-app-staging.cluster-ro-abcdefghijkl.eu-central-1.rds.amazonaws.com"
    cluster_port                   = 5432
    cluster_database_name          = "postgres"
    cluster_master_user_secret_arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!cluster-0a1b2c3d-AbCdEf"
    security_group_id              = "sg-0fedcba9876543210"
    kms_key_arn                    = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    final_snapshot_identifier      = null
  }
}

override_resource {
  target = aws_secretsmanager_secret.app
  values = {
    arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/database-app-AbCdEf"
  }
}

override_resource {
  target = aws_lambda_function.rotation
  values = {
    arn = "arn:aws:lambda:eu-central-1:123456789012:function:test-app-staging-db-rotation"
  }
}

override_resource {
  target = aws_sns_topic.alarms
  values = {
    arn = "arn:aws:sns:eu-central-1:123456789012:test-app-staging-alarms"
  }
}

# The zip `make rotation-package` builds is read at plan time (source_code_hash); the mock
# provider uploads nothing, so a small committed stand-in serves (tests/rotation-package.fixture).
variables {
  environment               = "staging"
  generate_initial_password = false
  rotation_package          = "tests/rotation-package.fixture"
}

run "the_app_secret_is_rotated_with_alternating_users" {
  command = apply

  variables {
    enable_app_secret_rotation = true
  }

  assert {
    condition     = aws_lambda_function.rotation[0].handler == "test_app_rotation.handler.lambda_handler" && aws_lambda_function.rotation[0].runtime == "python3.13" && aws_lambda_function.rotation[0].architectures == tolist(["arm64"])
    error_message = "The rotation function is the project's own (rotation/, test_app_rotation) on Python 3.13, arm64 (the platform its zip is built for)."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].source_code_hash == filebase64sha256("tests/rotation-package.fixture") && aws_lambda_function.rotation[0].filename == "tests/rotation-package.fixture"
    error_message = "The function deploys the built zip, redeployed when its hash changes."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].timeout == 30 && aws_lambda_function.rotation[0].environment[0].variables == tomap({ SECRETS_MANAGER_ENDPOINT = "https://secretsmanager.eu-central-1.amazonaws.com" })
    error_message = "30 s per step; Secrets Manager at the regional endpoint (SECRETS_MANAGER_ENDPOINT, as AWS's template sets it)."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].vpc_config[0].subnet_ids == toset(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]) && aws_lambda_function.rotation[0].vpc_config[0].security_group_ids == toset([aws_security_group.rotation[0].id])
    error_message = "The function runs in the private subnets with the rotation security group."
  }

  assert {
    condition     = aws_lambda_function.rotation[0].logging_config[0].log_group == "/aws/lambda/test-app-staging-db-rotation" && aws_cloudwatch_log_group.rotation[0].retention_in_days == 365 && aws_cloudwatch_log_group.rotation[0].kms_key_id != null
    error_message = "The function logs to its own log group, kept a year and encrypted."
  }

  assert {
    condition = (
      aws_lambda_permission.rotation[0].principal == "secretsmanager.amazonaws.com"
      && aws_lambda_permission.rotation[0].action == "lambda:InvokeFunction"
      && aws_lambda_permission.rotation[0].source_account == "123456789012"
      && aws_lambda_permission.rotation[0].source_arn == "arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/database-app-AbCdEf"
    )
    error_message = "Only Secrets Manager, for the app secret of this account, may invoke the function."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.rotation[0].policy).Statement == [
      {
        Sid      = "RotateTheAppSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]
        Resource = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/database-app-AbCdEf"
      },
      {
        Sid      = "ReadTheMasterSecret"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!cluster-0a1b2c3d-AbCdEf"
      },
      {
        Sid      = "NewPasswords"
        Effect   = "Allow"
        Action   = "secretsmanager:GetRandomPassword"
        Resource = "*"
      },
      {
        Sid       = "SecretsKeyThroughSecretsManager"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
        Resource  = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.eu-central-1.amazonaws.com" } }
      },
    ]
    error_message = "The function's role holds what AWS documents for alternating users: the app secret, the master secret read-only, GetRandomPassword, the secrets' key through Secrets Manager."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.rotation_vpc[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    error_message = "The function's network interfaces and logs come with AWSLambdaVPCAccessExecutionRole."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.app[0].rotation_lambda_arn == "arn:aws:lambda:eu-central-1:123456789012:function:test-app-staging-db-rotation"
    error_message = "The app secret must rotate with the deployed function."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.app[0].rotate_immediately == false
    error_message = "The role exists only after the chart's hook ran: the first rotation must wait for the schedule."
  }

  assert {
    condition     = aws_secretsmanager_secret_rotation.app[0].rotation_rules[0].automatically_after_days == 30 && aws_secretsmanager_secret_rotation.app[0].rotation_rules[0].duration == "3h"
    error_message = "Rotation every 30 days within a 3 h window (the chart's refreshInterval arithmetic relies on it)."
  }
}

run "the_first_password_never_reaches_the_state" {
  command = apply

  assert {
    condition     = aws_secretsmanager_secret_version.app.secret_string == null || aws_secretsmanager_secret_version.app.secret_string == ""
    error_message = "The initial secret is written through secret_string_wo only."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.app.secret_string_wo_version == 1
    error_message = "The write-only value is written once (version 1); rotation owns it afterwards."
  }

  assert {
    condition     = aws_secretsmanager_secret.app.name == "test-app-staging/database-app" && aws_secretsmanager_secret.app.kms_key_id == "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "The app secret is named <name>/database-app and encrypted with the database's KMS key."
  }
}

run "the_rotation_function_reaches_only_postgresql_and_https" {
  command = apply

  assert {
    condition     = aws_vpc_security_group_egress_rule.rotation_database[0].referenced_security_group_id == "sg-0fedcba9876543210" && aws_vpc_security_group_egress_rule.rotation_database[0].from_port == 5432
    error_message = "PostgreSQL egress goes to the database's security group only."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.rotation_https[0].from_port == 443 && aws_vpc_security_group_egress_rule.rotation_https[0].to_port == 443
    error_message = "The only other egress is HTTPS (the Secrets Manager API)."
  }

  assert {
    condition     = aws_vpc_security_group_ingress_rule.database_from_rotation[0].security_group_id == "sg-0fedcba9876543210" && aws_vpc_security_group_ingress_rule.database_from_rotation[0].referenced_security_group_id == aws_security_group.rotation[0].id
    error_message = "The database admits the rotation function's security group."
  }
}

run "external_secrets_reads_the_app_and_master_secrets_only" {
  command = plan

  assert {
    condition = [for s in data.aws_iam_policy_document.external_secrets[0].statement : s.resources if s.sid == "ReadDatabaseSecrets"] == [
      toset([
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/database-app-AbCdEf",
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!cluster-0a1b2c3d-AbCdEf",
      ])
    ]
    error_message = "External Secrets may read the app secret (Deployment) and the master secret (role hook), nothing else."
  }

  assert {
    condition     = output.app_role_name == "test_app"
    error_message = "The default app role is test_app (the chart's dbRole.name)."
  }
}

# scripts/terraform/stacks reads both at a destroy and keeps the key of the final snapshot.
run "the_final_snapshot_and_its_key_are_outputs" {
  command = plan

  override_module {
    target = module.aurora
    outputs = {
      cluster_endpoint               = "test-app-prod.cluster-abcdefghijkl.eu-central-1.rds.amazonaws.com"
      cluster_port                   = 5432
      cluster_database_name          = "postgres"
      cluster_master_user_secret_arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!cluster-0a1b2c3d-AbCdEf"
      security_group_id              = "sg-0fedcba9876543210"
      kms_key_arn                    = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      final_snapshot_identifier      = "test-app-prod-final-20261207134500"
    }
  }

  assert {
    condition     = output.final_snapshot_identifier == "test-app-prod-final-20261207134500" && output.kms_key_arn == "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "The stack must output the final snapshot's name and the key that encrypts it."
  }
}

run "without_a_final_snapshot_its_output_is_empty" {
  command = plan

  assert {
    condition     = output.final_snapshot_identifier == ""
    error_message = "Without a final snapshot (staging) the output is empty, so a destroy keeps no key."
  }
}

run "the_emulator_switch_leaves_the_secret_without_rotation" {
  command = plan

  variables {
    create_app_secret_rotation = false
  }

  assert {
    condition     = length(aws_lambda_function.rotation) == 0 && length(aws_iam_role.rotation) == 0 && length(aws_secretsmanager_secret_rotation.app) == 0 && length(aws_security_group.rotation) == 0 && length(aws_sns_topic.alarms) == 0
    error_message = "Without rotation no function, schedule, security group or alarm is created."
  }
}

run "rotation_waits_for_the_first_deploy" {
  command = plan

  assert {
    condition     = length(aws_secretsmanager_secret_rotation.app) == 0
    error_message = "Turning rotation on runs testSecret at once: it must wait for the app role (enable_app_secret_rotation after the first deploy)."
  }

  assert {
    condition     = length(aws_lambda_function.rotation) == 1 && length(aws_lambda_permission.rotation) == 1 && length(aws_vpc_security_group_ingress_rule.database_from_rotation) == 1
    error_message = "The function and its network path exist from the first apply."
  }

  assert {
    condition     = length(aws_cloudwatch_event_rule.rotation_failed) == 1 && length(aws_cloudwatch_metric_alarm.rotation_failed) == 1 && length(aws_cloudwatch_metric_alarm.rotation_errors) == 1
    error_message = "The RotationFailed event (rule and alarm) and the function's errors are watched from the first apply."
  }
}

run "rotation_failure_alarms_reach_the_topic" {
  command = apply

  variables {
    enable_app_secret_rotation = true
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.rotation_failed[0].event_pattern).detail.eventName == ["RotationFailed"] && jsondecode(aws_cloudwatch_event_rule.rotation_failed[0].event_pattern).detail.additionalEventData.SecretId == ["arn:aws:secretsmanager:eu-central-1:123456789012:secret:test-app-staging/database-app-AbCdEf"]
    error_message = "The event rule must match RotationFailed of the app secret."
  }

  assert {
    condition     = aws_cloudwatch_event_target.rotation_failed[0].arn == aws_sns_topic.alarms[0].arn && aws_cloudwatch_metric_alarm.rotation_errors[0].alarm_actions == toset([aws_sns_topic.alarms[0].arn])
    error_message = "The event rule and the error alarm publish to the alarm topic."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.rotation_errors[0].dimensions["FunctionName"] == aws_lambda_function.rotation[0].function_name
    error_message = "The error alarm watches the rotation function."
  }

  # PagerDuty's "Amazon CloudWatch" integration reads alarm messages only: RotationFailed pages
  # through an alarm on the rule's TriggeredRules (AWS/Events, dimension RuleName).
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.rotation_failed[0].namespace == "AWS/Events"
      && aws_cloudwatch_metric_alarm.rotation_failed[0].metric_name == "TriggeredRules"
      && aws_cloudwatch_metric_alarm.rotation_failed[0].dimensions == tomap({ RuleName = aws_cloudwatch_event_rule.rotation_failed[0].name })
      && aws_cloudwatch_metric_alarm.rotation_failed[0].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.rotation_failed[0].threshold == 0
      && aws_cloudwatch_metric_alarm.rotation_failed[0].comparison_operator == "GreaterThanThreshold"
      && aws_cloudwatch_metric_alarm.rotation_failed[0].treat_missing_data == "notBreaching"
      && aws_cloudwatch_metric_alarm.rotation_failed[0].alarm_actions == toset([aws_sns_topic.alarms[0].arn])
    )
    error_message = "A RotationFailed event must raise a CloudWatch alarm (TriggeredRules of the rule > 0) on the alarm topic."
  }

  # EventBridge and CloudWatch publish to an encrypted topic only under a customer managed key
  # whose policy lets them use it (alias/aws/sns admits no service).
  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == aws_kms_key.alarms[0].arn && aws_kms_key.alarms[0].enable_key_rotation
    error_message = "The alarm topic must be encrypted with its own customer managed key, rotated yearly."
  }

  assert {
    condition = alltrue([
      for service in ["events.amazonaws.com", "cloudwatch.amazonaws.com"] : anytrue([
        for statement in jsondecode(aws_kms_key.alarms[0].policy).Statement :
        statement.Effect == "Allow" && contains(flatten([try(statement.Principal.Service, [])]), service) && length(setsubtract(["kms:Decrypt", "kms:GenerateDataKey*"], flatten([statement.Action]))) == 0
      ])
    ])
    error_message = "The key policy must let events.amazonaws.com and cloudwatch.amazonaws.com use the key (kms:Decrypt, kms:GenerateDataKey*)."
  }

  assert {
    condition = anytrue([
      for statement in jsondecode(aws_kms_key.alarms[0].policy).Statement :
      statement.Effect == "Allow" && try(statement.Principal.AWS, "") == "arn:aws:iam::123456789012:root" && statement.Action == "kms:*"
    ])
    error_message = "The account must administer the key (otherwise the key becomes unmanageable)."
  }

  assert {
    condition = alltrue([
      for pair in [
        ["events.amazonaws.com", aws_cloudwatch_event_rule.rotation_failed[0].arn],
        ["cloudwatch.amazonaws.com", aws_cloudwatch_metric_alarm.rotation_errors[0].arn],
        ["cloudwatch.amazonaws.com", aws_cloudwatch_metric_alarm.rotation_failed[0].arn],
        ] : anytrue([
          for statement in jsondecode(aws_sns_topic_policy.alarms[0].policy).Statement :
          statement.Effect == "Allow" && statement.Principal.Service == pair[0] && statement.Action == "sns:Publish" && statement.Resource == aws_sns_topic.alarms[0].arn && contains(flatten([statement.Condition.ArnEquals["aws:SourceArn"]]), pair[1]) && statement.Condition.StringEquals["aws:SourceAccount"] == "123456789012"
      ])
    ])
    error_message = "The topic policy must let EventBridge publish for the rule and CloudWatch for both alarms, in this account only."
  }
}

run "enabling_rotation_without_the_function_is_refused" {
  command = plan

  variables {
    create_app_secret_rotation = false
    enable_app_secret_rotation = true
  }

  expect_failures = [var.enable_app_secret_rotation]
}

run "a_role_name_that_cannot_take_the_clone_suffix_is_refused" {
  command = plan

  variables {
    app_role_name = "a_role_name_that_is_far_too_long_to_take_the_clone_suffix_x"
  }

  expect_failures = [var.app_role_name]
}

run "a_rotation_period_below_a_week_is_refused" {
  command = plan

  variables {
    app_secret_rotation_days = 1
  }

  expect_failures = [var.app_secret_rotation_days]
}

run "a_rotation_window_in_minutes_is_refused" {
  command = plan

  variables {
    app_secret_rotation_window = "30m"
  }

  expect_failures = [var.app_secret_rotation_window]
}
