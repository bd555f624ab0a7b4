################################################################################
# Network and cluster (looked up by name and tags)
################################################################################

data "aws_vpc" "this" {
  tags = { Name = local.name }
}

data "aws_subnets" "private" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.this.id]
  }

  tags = { Tier = "private" }
}

data "aws_subnet" "private" {
  for_each = toset(data.aws_subnets.private.ids)

  id = each.value
}

# The extra security group every node of the cluster carries (cluster stack).
data "aws_security_group" "nodes" {
  vpc_id = data.aws_vpc.this.id
  tags   = { Name = "${local.name}-node" }
}

################################################################################
# Database
################################################################################

module "aurora" {
  source = "../../modules/aurora-postgresql"

  name                       = local.name
  engine_version             = var.engine_version
  instance_class             = var.instance_class
  database_name              = var.database_name
  vpc_id                     = data.aws_vpc.this.id
  subnet_ids                 = sort(data.aws_subnets.private.ids)
  availability_zones         = sort(distinct([for s in data.aws_subnet.private : s.availability_zone]))
  allowed_security_group_ids = [data.aws_security_group.nodes.id]

  backup_retention_period      = var.backup_retention_period
  deletion_protection          = var.deletion_protection
  skip_final_snapshot          = var.skip_final_snapshot
  apply_immediately            = var.apply_immediately
  performance_insights_enabled = var.performance_insights_enabled
  timeouts                     = var.timeouts

  autoscaling_enabled      = var.autoscaling_enabled
  autoscaling_min_capacity = var.reader_min_count
  autoscaling_max_capacity = var.reader_max_count
  autoscaling_target_cpu   = var.reader_target_cpu
}

################################################################################
# Application role secret, rotated with alternating users
# (docs/adr/0015-app-role-rotation-with-alternating-users.md)
################################################################################

# The first password: generated at apply time and written write-only, so it is never stored in
# the state or shown in a plan. The chart's pre-install hook creates the role with it
# (test-app-db-role); rotation owns the secret afterwards.
ephemeral "aws_secretsmanager_random_password" "app" {
  count    = var.generate_initial_password ? 1 : 0
  provider = aws.initial_password

  password_length     = 32
  exclude_characters  = ":/@\"'\\"
  include_space       = false
  exclude_punctuation = false
}

resource "aws_secretsmanager_secret" "app" {
  name                    = "${local.name}/database-app"
  description             = "Login of the ${var.app_role_name} role of ${local.name}; rotated with alternating users (${var.app_role_name} and ${var.app_role_name}_clone)"
  kms_key_id              = module.aurora.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "app" {
  secret_id = aws_secretsmanager_secret.app.id
  # The keys the rotation function reads (engine, host, username, password, masterarn).
  secret_string_wo = jsonencode({
    engine    = "postgres"
    host      = module.aurora.cluster_endpoint
    port      = module.aurora.cluster_port
    dbname    = module.aurora.cluster_database_name
    username  = var.app_role_name
    password  = one(ephemeral.aws_secretsmanager_random_password.app[*].random_password)
    masterarn = module.aurora.cluster_master_user_secret_arn
    # TLS without plaintext fallback. The project's function (rotation/) always connects with
    # verify-full against the RDS CA bundle in its zip and ignores this key; it stays for
    # readers of the secret that follow AWS's format (`true`: verify-full only).
    ssl = true
  })
  # Written once; bump only to reset the secret by hand (rotation changes it otherwise).
  secret_string_wo_version = 1
}

# The rotation function runs in the private subnets: it reaches PostgreSQL directly and the
# Secrets Manager API through the NAT gateways (the function calls no other AWS API).
resource "aws_security_group" "rotation" {
  #checkov:skip=CKV2_AWS_5:Attached to the rotation function (aws_lambda_function.rotation vpc_config); checkov does not follow a counted resource's reference
  count = var.create_app_secret_rotation ? 1 : 0

  name        = "${local.name}-db-rotation"
  description = "Secrets Manager rotation function of ${local.name}: PostgreSQL and HTTPS out only"
  vpc_id      = data.aws_vpc.this.id

  tags = { Name = "${local.name}-db-rotation" }

  # The function's VPC network interfaces are released up to about 20 minutes after the
  # function is deleted; the group cannot be deleted before (the provider's default is 15m).
  timeouts {
    delete = "45m"
  }
}

resource "aws_vpc_security_group_egress_rule" "rotation_database" {
  count = var.create_app_secret_rotation ? 1 : 0

  security_group_id            = aws_security_group.rotation[0].id
  description                  = "PostgreSQL of ${local.name}"
  ip_protocol                  = "tcp"
  from_port                    = module.aurora.cluster_port
  to_port                      = module.aurora.cluster_port
  referenced_security_group_id = module.aurora.security_group_id
}

resource "aws_vpc_security_group_egress_rule" "rotation_https" {
  #checkov:skip=CKV_AWS_382:The Secrets Manager API endpoint is a public AWS address reached through the NAT gateways
  count = var.create_app_secret_rotation ? 1 : 0

  security_group_id = aws_security_group.rotation[0].id
  description       = "Secrets Manager API (HTTPS)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "database_from_rotation" {
  count = var.create_app_secret_rotation ? 1 : 0

  security_group_id            = module.aurora.security_group_id
  description                  = "PostgreSQL from the rotation function"
  ip_protocol                  = "tcp"
  from_port                    = module.aurora.cluster_port
  to_port                      = module.aurora.cluster_port
  referenced_security_group_id = aws_security_group.rotation[0].id
}

# The project's own rotation function (rotation/, package test_app_rotation): AWS's multi-user
# steps, connecting with TLS verify-full against the RDS CA bundle packaged with it, because the
# Lambda runtime's trust store does not hold the RDS CAs
# (docs/adr/0015-app-role-rotation-with-alternating-users.md). Its zip is built by
# `make rotation-package` before this stack is planned.
locals {
  rotation_function_name = "${local.name}-db-rotation"
  rotation_log_group     = "/aws/lambda/${local.name}-db-rotation"
}

data "aws_iam_policy_document" "rotation_assume" {
  count = var.create_app_secret_rotation ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rotation" {
  count = var.create_app_secret_rotation ? 1 : 0

  name               = local.rotation_function_name
  description        = "Rotation function of ${aws_secretsmanager_secret.app.name}"
  assume_role_policy = data.aws_iam_policy_document.rotation_assume[0].json
}

# What AWS documents for a rotation function with the alternating-users strategy
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html):
# the rotated secret, the master secret read-only, GetRandomPassword, the key that encrypts both
# (through Secrets Manager only); the VPC network interfaces and logs come with
# AWSLambdaVPCAccessExecutionRole below. The policy is jsonencode()d so the mock tests can read it.
resource "aws_iam_role_policy" "rotation" {
  count = var.create_app_secret_rotation ? 1 : 0

  name = "rotate-${local.name}-database-app"
  role = aws_iam_role.rotation[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "RotateTheAppSecret"
        Effect   = "Allow"
        Action   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]
        Resource = aws_secretsmanager_secret.app.arn
      },
      {
        Sid      = "ReadTheMasterSecret"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = module.aurora.cluster_master_user_secret_arn
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
        Resource  = module.aurora.kms_key_arn
        Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.${var.region}.amazonaws.com" } }
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "rotation_vpc" {
  count = var.create_app_secret_rotation ? 1 : 0

  role       = aws_iam_role.rotation[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

module "rotation_log_kms" {
  source = "../../modules/kms"

  create                         = var.create_app_secret_rotation
  description                    = "Encrypts the logs of the rotation function ${local.rotation_function_name}"
  deletion_window_in_days        = 7
  cloudwatch_logs_log_group_name = local.rotation_log_group
}

resource "aws_cloudwatch_log_group" "rotation" {
  count = var.create_app_secret_rotation ? 1 : 0

  name              = local.rotation_log_group
  retention_in_days = var.rotation_log_retention_in_days
  kms_key_id        = module.rotation_log_kms.key_arn
}

resource "aws_lambda_function" "rotation" {
  #checkov:skip=CKV_AWS_50:X-Ray tracing would need xray:PutTraceSegments beyond the permissions AWS documents for a rotation function; the function logs each step and its errors alarm
  #checkov:skip=CKV_AWS_115:A reserved concurrency needs 10 unreserved executions left in the account, which new accounts do not have; Secrets Manager runs one step at a time per secret
  #checkov:skip=CKV_AWS_116:Secrets Manager invokes the function synchronously and records a failed step itself (RotationFailed, alarmed below); a dead-letter queue serves asynchronous invocations only
  #checkov:skip=CKV_AWS_173:The one environment variable is the public Secrets Manager endpoint; Lambda encrypts it at rest with its AWS managed key
  #checkov:skip=CKV_AWS_272:The zip is built from reviewed source with hash-pinned dependencies and a SHA-256-pinned CA bundle (make rotation-package) and deployed by its hash (source_code_hash); code signing needs an AWS Signer profile per account
  count = var.create_app_secret_rotation ? 1 : 0

  function_name    = local.rotation_function_name
  description      = "Rotates ${aws_secretsmanager_secret.app.name} with alternating users (rotation/, TLS verify-full with the RDS CA bundle)"
  role             = aws_iam_role.rotation[0].arn
  runtime          = "python3.13"
  architectures    = ["arm64"]
  handler          = "test_app_rotation.handler.lambda_handler"
  filename         = var.rotation_package
  source_code_hash = filebase64sha256(var.rotation_package)
  timeout          = 30
  memory_size      = 256

  vpc_config {
    subnet_ids         = sort(data.aws_subnets.private.ids)
    security_group_ids = [aws_security_group.rotation[0].id]
  }

  environment {
    variables = {
      SECRETS_MANAGER_ENDPOINT = "https://secretsmanager.${var.region}.amazonaws.com"
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.rotation[0].name
  }

  depends_on = [
    aws_iam_role_policy.rotation,
    aws_iam_role_policy_attachment.rotation_vpc,
  ]
}

# Secrets Manager may invoke the function for the app secret of this account only.
resource "aws_lambda_permission" "rotation" {
  count = var.create_app_secret_rotation ? 1 : 0

  statement_id   = "SecretsManagerRotatesTheAppSecret"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.rotation[0].function_name
  principal      = "secretsmanager.amazonaws.com"
  source_account = local.account_id
  source_arn     = aws_secretsmanager_secret.app.arn
}

# Turned on only after the first deploy (enable_app_secret_rotation): enabling runs the
# function's testSecret at once, which needs the app role (made by the chart's hook) and the
# network path below.
resource "aws_secretsmanager_secret_rotation" "app" {
  count = var.create_app_secret_rotation && var.enable_app_secret_rotation ? 1 : 0

  secret_id           = aws_secretsmanager_secret.app.id
  rotation_lambda_arn = aws_lambda_function.rotation[0].arn
  # The role does not exist until the chart's pre-install hook creates it; the first rotation
  # waits for the schedule.
  rotate_immediately = false

  rotation_rules {
    automatically_after_days = var.app_secret_rotation_days
    duration                 = var.app_secret_rotation_window
  }

  depends_on = [
    aws_secretsmanager_secret_version.app,
    aws_lambda_permission.rotation,
    aws_vpc_security_group_egress_rule.rotation_database,
    aws_vpc_security_group_egress_rule.rotation_https,
    aws_vpc_security_group_ingress_rule.database_from_rotation,
  ]
}

################################################################################
# Rotation failure alarms: Secrets Manager's RotationFailed event and the function's errors
################################################################################

locals {
  alarm_topic_name = coalesce(var.alarm_topic_name, "${local.name}-alarms")
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
}

# An encrypted topic takes messages from EventBridge and CloudWatch only under a customer
# managed key whose key policy lets those services use it; the AWS managed key alias/aws/sns
# admits no service (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html,
# "Enable compatibility between event sources from AWS services and encrypted topics").
# The policies are jsonencode()d so the mock tests can read them.
resource "aws_kms_key" "alarms" {
  count = var.create_app_secret_rotation ? 1 : 0

  description             = "SNS topic ${local.alarm_topic_name}: EventBridge and CloudWatch publish rotation failures"
  deletion_window_in_days = 7
  enable_key_rotation     = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministration"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # EventBridge (the RotationFailed event) and CloudWatch (the two alarms) publish.
        Sid       = "AlarmPublishersUseTheKey"
        Effect    = "Allow"
        Principal = { Service = ["events.amazonaws.com", "cloudwatch.amazonaws.com"] }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_sns_topic" "alarms" {
  count = var.create_app_secret_rotation ? 1 : 0

  name              = local.alarm_topic_name
  kms_master_key_id = aws_kms_key.alarms[0].arn
}

# Each service may publish for its own rule or alarm in this account only.
resource "aws_sns_topic_policy" "alarms" {
  count = var.create_app_secret_rotation ? 1 : 0

  arn = aws_sns_topic.alarms[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgePublishesRotationFailed"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms[0].arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnEquals    = { "aws:SourceArn" = aws_cloudwatch_event_rule.rotation_failed[0].arn }
        }
      },
      {
        Sid       = "CloudWatchPublishesRotationAlarms"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms[0].arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnEquals = { "aws:SourceArn" = [
            aws_cloudwatch_metric_alarm.rotation_errors[0].arn,
            aws_cloudwatch_metric_alarm.rotation_failed[0].arn,
          ] }
        }
      },
    ]
  })
}

# Secrets Manager sends RotationFailed through CloudTrail to EventBridge
# (https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html).
resource "aws_cloudwatch_event_rule" "rotation_failed" {
  count = var.create_app_secret_rotation ? 1 : 0

  name        = "${local.name}-db-rotation-failed"
  description = "Rotation of ${aws_secretsmanager_secret.app.name} failed"
  event_pattern = jsonencode({
    source        = ["aws.secretsmanager"]
    "detail-type" = ["AWS Service Event via CloudTrail"]
    detail = {
      eventName           = ["RotationFailed"]
      additionalEventData = { SecretId = [aws_secretsmanager_secret.app.arn] }
    }
  })
}

# The raw event on the topic, for email subscribers: it names the secret and the error. An
# on-call tool that reads CloudWatch alarm messages (PagerDuty's "Amazon CloudWatch"
# integration) ignores it and pages on the alarm below.
resource "aws_cloudwatch_event_target" "rotation_failed" {
  count = var.create_app_secret_rotation ? 1 : 0

  rule = aws_cloudwatch_event_rule.rotation_failed[0].name
  arn  = aws_sns_topic.alarms[0].arn
}

# The same event as a CloudWatch alarm message: EventBridge counts each match of a rule on the
# default bus in AWS/Events TriggeredRules with the one dimension RuleName
# (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html), and sends no
# data point while nothing matches. No OK action: the alarm returns to OK five minutes later
# while the rotation is still broken, so the page stays open until someone resolves it.
resource "aws_cloudwatch_metric_alarm" "rotation_failed" {
  count = var.create_app_secret_rotation ? 1 : 0

  alarm_name          = "${local.name}-db-rotation-failed"
  alarm_description   = "Secrets Manager reported RotationFailed for ${aws_secretsmanager_secret.app.name} (docs/runbooks/database/TestAppDatabaseLoginNotRotated.md)"
  namespace           = "AWS/Events"
  metric_name         = "TriggeredRules"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.rotation_failed[0].name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms[0].arn]
}

resource "aws_cloudwatch_metric_alarm" "rotation_errors" {
  count = var.create_app_secret_rotation ? 1 : 0

  alarm_name          = "${local.name}-db-rotation-errors"
  alarm_description   = "The rotation function of ${aws_secretsmanager_secret.app.name} failed (docs/runbooks/database/TestAppDatabaseLoginNotRotated.md)"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = local.rotation_function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms[0].arn]
  ok_actions          = [aws_sns_topic.alarms[0].arn]
}

################################################################################
# External Secrets: read access to the app secret and the master secret only
################################################################################

data "aws_iam_role" "external_secrets" {
  count = var.grant_external_secrets_read ? 1 : 0

  name = "${local.name}-external-secrets"
}

data "aws_iam_policy_document" "external_secrets" {
  count = var.grant_external_secrets_read ? 1 : 0

  # The app's login (the chart's Deployment) and the master login (only the chart's role hook).
  statement {
    sid       = "ReadDatabaseSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.app.arn, module.aurora.cluster_master_user_secret_arn]
  }

  statement {
    sid       = "DecryptDatabaseSecret"
    actions   = ["kms:Decrypt"]
    resources = [module.aurora.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "external_secrets" {
  count = var.grant_external_secrets_read ? 1 : 0

  name   = "read-${local.name}-database-secret"
  role   = data.aws_iam_role.external_secrets[0].name
  policy = data.aws_iam_policy_document.external_secrets[0].json
}
