mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                       = "test-app-prod"
  vpc_id                     = "vpc-0a1b2c3d4e5f60718"
  subnet_ids                 = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0ccccccccccccccc3"]
  availability_zones         = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
  allowed_security_group_ids = ["sg-0d1b2c3d4e5f6071a"]
}

run "secure_cluster_defaults" {
  command = plan

  assert {
    condition     = aws_rds_cluster.this[0].engine == "aurora-postgresql" && aws_rds_cluster.this[0].engine_version == "17.7"
    error_message = "The cluster must be Aurora PostgreSQL 17.7 by default."
  }

  assert {
    condition     = alltrue([for i in aws_rds_cluster_instance.this : !i.auto_minor_version_upgrade])
    error_message = "The pinned engine_version is the only minor-version control: AWS must not upgrade behind it (plans would propose downgrades)."
  }

  assert {
    condition     = aws_rds_cluster.this[0].storage_encrypted && module.kms.key_rotation_enabled
    error_message = "Storage must be encrypted with a rotating customer-managed key."
  }

  assert {
    condition     = aws_rds_cluster.this[0].manage_master_user_password && aws_rds_cluster.this[0].master_password == null
    error_message = "The master password must be managed by RDS in Secrets Manager, never in Terraform."
  }

  assert {
    condition     = aws_rds_cluster.this[0].deletion_protection && !aws_rds_cluster.this[0].skip_final_snapshot
    error_message = "Deletion protection and a final snapshot must be the defaults (prod)."
  }

  assert {
    condition     = aws_rds_cluster.this[0].backup_retention_period >= 7
    error_message = "Backups (point-in-time recovery) must be kept at least 7 days by default."
  }

  assert {
    condition     = anytrue([for p in aws_rds_cluster_parameter_group.this[0].parameter : p.name == "rds.force_ssl" && p.value == "1"])
    error_message = "TLS must be enforced by the cluster parameter group."
  }

  assert {
    condition     = aws_rds_cluster_parameter_group.this[0].family == "aurora-postgresql17"
    error_message = "The parameter group family must follow the engine's major version."
  }
}

run "each_cluster_incarnation_has_its_own_final_snapshot" {
  command = apply

  assert {
    condition     = can(regex("^test-app-prod-final-[0-9]{14}$", aws_rds_cluster.this[0].final_snapshot_identifier))
    error_message = "The final snapshot must carry the incarnation's creation time: a second destroy would fail on the first one's snapshot."
  }
}

# The next plan of the same state keeps the name (an unknown name would fail this condition).
run "the_final_snapshot_name_is_stable_across_plans" {
  command = plan

  assert {
    condition     = aws_rds_cluster.this[0].final_snapshot_identifier == run.each_cluster_incarnation_has_its_own_final_snapshot.final_snapshot_identifier
    error_message = "A later plan must keep the final snapshot name."
  }
}

run "writer_and_readers_across_zones" {
  command = plan

  variables {
    autoscaling_min_capacity = 2
  }

  assert {
    condition     = length(aws_rds_cluster_instance.this) == 3
    error_message = "One writer plus autoscaling_min_capacity readers must be created."
  }

  assert {
    condition     = length(distinct([for i in aws_rds_cluster_instance.this : i.availability_zone])) == 3
    error_message = "Writer and readers must be spread over the three zones."
  }

  assert {
    condition     = alltrue([for i in aws_rds_cluster_instance.this : i.publicly_accessible == false])
    error_message = "No database instance may be publicly accessible."
  }
}

run "reader_autoscaling_on_cpu" {
  command = plan

  assert {
    condition     = aws_appautoscaling_target.this[0].scalable_dimension == "rds:cluster:ReadReplicaCount" && aws_appautoscaling_target.this[0].min_capacity == 1 && aws_appautoscaling_target.this[0].max_capacity == 3
    error_message = "Readers must scale between 1 and 3 by default."
  }

  assert {
    condition     = aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "RDSReaderAverageCPUUtilization" && aws_appautoscaling_policy.this[0].target_tracking_scaling_policy_configuration[0].target_value == 70
    error_message = "Readers must scale on their average CPU, target 70%."
  }
}

run "only_the_cluster_is_admitted" {
  command = plan

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.this) == 1 && aws_vpc_security_group_ingress_rule.this["sg-0d1b2c3d4e5f6071a"].referenced_security_group_id == "sg-0d1b2c3d4e5f6071a"
    error_message = "Only the listed security groups may reach the database."
  }

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.this : r.cidr_ipv4 == null && r.from_port == 5432 && r.to_port == 5432])
    error_message = "No CIDR-based access, only the PostgreSQL port."
  }
}

run "staging_profile" {
  command = plan

  variables {
    deletion_protection = false
    skip_final_snapshot = true
    autoscaling_enabled = false
  }

  assert {
    condition     = !aws_rds_cluster.this[0].deletion_protection && aws_rds_cluster.this[0].final_snapshot_identifier == null && length(aws_appautoscaling_target.this) == 0
    error_message = "Staging may turn off deletion protection, the final snapshot and autoscaling."
  }
}

run "disabled" {
  command = plan
  variables {
    create = false
  }
  assert {
    condition     = length(aws_rds_cluster.this) == 0 && length(aws_rds_cluster_instance.this) == 0
    error_message = "create = false must create nothing."
  }
}

run "invalid_name" {
  command = plan
  variables {
    name = "test-app-"
  }
  expect_failures = [var.name]
}

run "invalid_deletion_window" {
  command = plan
  variables {
    kms_key_deletion_window_in_days = 0
  }
  expect_failures = [var.kms_key_deletion_window_in_days]
}

run "invalid_vpc_id" {
  command = plan
  variables {
    vpc_id = "vpc"
  }
  expect_failures = [var.vpc_id]
}

run "one_subnet_rejected" {
  command = plan
  variables {
    subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"]
  }
  expect_failures = [var.subnet_ids]
}

run "nobody_admitted_rejected" {
  command = plan
  variables {
    allowed_security_group_ids = []
  }
  expect_failures = [var.allowed_security_group_ids]
}

run "invalid_port" {
  command = plan
  variables {
    port = 80
  }
  expect_failures = [var.port]
}

run "invalid_log_min_duration" {
  command = plan
  variables {
    log_min_duration_statement_ms = -5
  }
  expect_failures = [var.log_min_duration_statement_ms]
}

run "invalid_engine_version" {
  command = plan
  variables {
    engine_version = "12.4"
  }
  expect_failures = [var.engine_version]
}

run "invalid_database_name" {
  command = plan
  variables {
    database_name = "1db"
  }
  expect_failures = [var.database_name]
}

run "reserved_master_username" {
  command = plan
  variables {
    master_username = "rdsadmin"
  }
  expect_failures = [var.master_username]
}

run "invalid_backup_retention" {
  command = plan
  variables {
    backup_retention_period = 0
  }
  expect_failures = [var.backup_retention_period]
}

run "invalid_backup_window" {
  command = plan
  variables {
    preferred_backup_window = "2am"
  }
  expect_failures = [var.preferred_backup_window]
}

run "invalid_maintenance_window" {
  command = plan
  variables {
    preferred_maintenance_window = "sunday"
  }
  expect_failures = [var.preferred_maintenance_window]
}

run "invalid_instance_class" {
  command = plan
  variables {
    instance_class = "r6g.large"
  }
  expect_failures = [var.instance_class]
}

run "invalid_monitoring_interval" {
  command = plan
  variables {
    monitoring_interval = 7
  }
  expect_failures = [var.monitoring_interval]
}

run "too_many_min_readers" {
  command = plan
  variables {
    autoscaling_min_capacity = 16
    autoscaling_max_capacity = 16
  }
  expect_failures = [var.autoscaling_min_capacity]
}

run "too_many_max_readers" {
  command = plan
  variables {
    autoscaling_max_capacity = 16
  }
  expect_failures = [var.autoscaling_max_capacity]
}

run "max_below_min_readers" {
  command = plan
  variables {
    autoscaling_min_capacity = 3
    autoscaling_max_capacity = 2
  }
  expect_failures = [var.autoscaling_max_capacity]
}

run "invalid_target_cpu" {
  command = plan
  variables {
    autoscaling_target_cpu = 95
  }
  expect_failures = [var.autoscaling_target_cpu]
}

run "invalid_scale_in_cooldown" {
  command = plan
  variables {
    autoscaling_scale_in_cooldown = 10
  }
  expect_failures = [var.autoscaling_scale_in_cooldown]
}

run "invalid_scale_out_cooldown" {
  command = plan
  variables {
    autoscaling_scale_out_cooldown = 7200
  }
  expect_failures = [var.autoscaling_scale_out_cooldown]
}
