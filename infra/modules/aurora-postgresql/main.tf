data "aws_partition" "current" {
  count = local.create ? 1 : 0
}

locals {
  create = var.create

  partition    = try(data.aws_partition.current[0].partition, "aws")
  engine       = "aurora-postgresql"
  major        = split(".", var.engine_version)[0]
  family       = "aurora-postgresql${local.major}"
  reader_count = var.autoscaling_min_capacity
}

################################################################################
# KMS key (storage, master user secret, Performance Insights)
################################################################################

module "kms" {
  source = "../kms"

  create                  = local.create
  description             = "Encrypts the storage, snapshots and master secret of ${var.name}"
  deletion_window_in_days = var.kms_key_deletion_window_in_days
  alias_name              = "rds/${var.name}"

  tags = var.tags
}

# Where the key lived before the shared kms module: existing states keep the same key.
moved {
  from = aws_kms_key.this
  to   = module.kms.aws_kms_key.this
}

moved {
  from = aws_kms_alias.this
  to   = module.kms.aws_kms_alias.this
}

################################################################################
# Network
################################################################################

resource "aws_db_subnet_group" "this" {
  count = local.create ? 1 : 0

  name        = var.name
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.subnet_ids

  tags = merge({ Name = var.name }, var.tags)
}

resource "aws_security_group" "this" {
  count = local.create ? 1 : 0

  name        = "${var.name}-db"
  description = "PostgreSQL of ${var.name}: admits only the listed security groups"
  vpc_id      = var.vpc_id

  tags = merge({ Name = "${var.name}-db" }, var.tags, var.security_group_tags)
}

resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each = local.create ? toset(var.allowed_security_group_ids) : toset([])

  security_group_id            = aws_security_group.this[0].id
  description                  = "PostgreSQL from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = var.port
  to_port                      = var.port
  referenced_security_group_id = each.value
}

################################################################################
# Parameter groups
################################################################################

resource "aws_rds_cluster_parameter_group" "this" {
  count = local.create ? 1 : 0

  name        = "${var.name}-${local.family}"
  family      = local.family
  description = "TLS-only PostgreSQL for ${var.name}"

  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.log_min_duration_statement_ms)
  }

  parameter {
    name  = "log_connections"
    value = "1"
  }

  parameter {
    name  = "log_disconnections"
    value = "1"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_parameter_group" "this" {
  count = local.create ? 1 : 0

  name        = "${var.name}-${local.family}-instance"
  family      = local.family
  description = "Instance parameters of ${var.name}"

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

################################################################################
# Cluster
################################################################################

# A final snapshot name per cluster incarnation: a second destroy of a re-created cluster would
# otherwise fail on the snapshot the first destroy left ("already exists").
# terraform-aws-modules/terraform-aws-rds-aurora suffixes it with a random_id kept per cluster
# name; the built-in terraform_data does the same without a provider the offline mirror lacks:
# the creation time (UTC, to the second), fixed by ignore_changes so every later plan keeps it,
# and a new one whenever the name changes.
resource "terraform_data" "final_snapshot_suffix" {
  count = local.create && !var.skip_final_snapshot ? 1 : 0

  input            = formatdate("YYYYMMDDhhmmss", timestamp())
  triggers_replace = [var.name]

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_rds_cluster" "this" {
  count = local.create ? 1 : 0

  #checkov:skip=CKV2_AWS_8:Backups are the cluster's automated backups with point-in-time recovery (`backup_retention_period`); AWS Backup is an account-level choice
  #checkov:skip=CKV2_AWS_27:Query logging (log_statement) is a cost/privacy trade-off; slow queries are logged via log_min_duration_statement
  cluster_identifier                  = var.name
  engine                              = local.engine
  engine_version                      = var.engine_version
  database_name                       = var.database_name
  master_username                     = var.master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = module.kms.key_arn
  port                                = var.port
  db_subnet_group_name                = aws_db_subnet_group.this[0].name
  vpc_security_group_ids              = [aws_security_group.this[0].id]
  db_cluster_parameter_group_name     = aws_rds_cluster_parameter_group.this[0].name
  storage_encrypted                   = true
  kms_key_id                          = module.kms.key_arn
  iam_database_authentication_enabled = true
  backup_retention_period             = var.backup_retention_period
  preferred_backup_window             = var.preferred_backup_window
  preferred_maintenance_window        = var.preferred_maintenance_window
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = var.skip_final_snapshot
  final_snapshot_identifier           = var.skip_final_snapshot ? null : "${var.name}-final-${terraform_data.final_snapshot_suffix[0].output}"
  enabled_cloudwatch_logs_exports     = ["postgresql"]
  apply_immediately                   = var.apply_immediately

  timeouts {
    create = var.timeouts.create
    update = var.timeouts.update
    delete = var.timeouts.delete
  }

  tags = merge({ Name = var.name }, var.tags, var.cluster_tags)
}

################################################################################
# Instances (one writer and the minimum readers, spread over the zones)
################################################################################

# `auto_minor_version_upgrade` is off: `engine_version` pins the minor, and AWS upgrading it in a
# maintenance window would make every later plan propose a downgrade. Minor upgrades are a
# reviewed bump of `engine_version`, staging first (docs/adr/0011-database-minor-versions-in-code.md).
resource "aws_rds_cluster_instance" "this" {
  count = local.create ? 1 + local.reader_count : 0

  #checkov:skip=CKV_AWS_118:Enhanced monitoring is an input (`monitoring_interval`); Performance Insights and CloudWatch cover the defaults
  #checkov:skip=CKV_AWS_226:Minor versions are pinned in code and upgraded by a reviewed bump (docs/adr/0011-database-minor-versions-in-code.md); automatic upgrades would make plans propose downgrades
  identifier                            = "${var.name}-${count.index + 1}"
  cluster_identifier                    = aws_rds_cluster.this[0].id
  engine                                = aws_rds_cluster.this[0].engine
  engine_version                        = aws_rds_cluster.this[0].engine_version
  instance_class                        = var.instance_class
  availability_zone                     = length(var.availability_zones) > 0 ? var.availability_zones[count.index % length(var.availability_zones)] : null
  db_parameter_group_name               = aws_db_parameter_group.this[0].name
  publicly_accessible                   = false
  auto_minor_version_upgrade            = false
  promotion_tier                        = count.index
  performance_insights_enabled          = var.performance_insights_enabled
  performance_insights_kms_key_id       = var.performance_insights_enabled ? module.kms.key_arn : null
  performance_insights_retention_period = var.performance_insights_enabled ? 7 : null
  monitoring_interval                   = var.monitoring_interval
  monitoring_role_arn                   = var.monitoring_interval > 0 ? aws_iam_role.monitoring[0].arn : null
  copy_tags_to_snapshot                 = true
  apply_immediately                     = var.apply_immediately

  timeouts {
    create = var.timeouts.create
    update = var.timeouts.update
    delete = var.timeouts.delete
  }

  tags = merge({ Name = "${var.name}-${count.index + 1}" }, var.tags)
}

################################################################################
# Enhanced monitoring
################################################################################

data "aws_iam_policy_document" "monitoring_assume" {
  count = local.create && var.monitoring_interval > 0 ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  count = local.create && var.monitoring_interval > 0 ? 1 : 0

  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume[0].json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  count = local.create && var.monitoring_interval > 0 ? 1 : 0

  role       = aws_iam_role.monitoring[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

################################################################################
# Reader auto scaling (Application Auto Scaling on reader CPU)
################################################################################

locals {
  create_autoscaling = local.create && var.autoscaling_enabled
}

resource "aws_appautoscaling_target" "this" {
  count = local.create_autoscaling ? 1 : 0

  service_namespace  = "rds"
  scalable_dimension = "rds:cluster:ReadReplicaCount"
  resource_id        = "cluster:${aws_rds_cluster.this[0].cluster_identifier}"
  min_capacity       = var.autoscaling_min_capacity
  max_capacity       = var.autoscaling_max_capacity

  tags = var.tags

  depends_on = [aws_rds_cluster_instance.this]
}

resource "aws_appautoscaling_policy" "this" {
  count = local.create_autoscaling ? 1 : 0

  name               = "${var.name}-reader-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[0].service_namespace
  scalable_dimension = aws_appautoscaling_target.this[0].scalable_dimension
  resource_id        = aws_appautoscaling_target.this[0].resource_id

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = "RDSReaderAverageCPUUtilization"
    }

    target_value       = var.autoscaling_target_cpu
    scale_in_cooldown  = var.autoscaling_scale_in_cooldown
    scale_out_cooldown = var.autoscaling_scale_out_cooldown
  }
}
