environment    = "prod"
region         = "eu-central-1"
engine_version = "17.7"
instance_class = "db.r6g.large"

backup_retention_period = 14
deletion_protection     = true
skip_final_snapshot     = false
apply_immediately       = false

reader_min_count  = 2
reader_max_count  = 5
reader_target_cpu = 60

# Rotation is turned on after the first deploy (docs/getting-started.md, phase 10): turning it on
# runs the function's testSecret, which needs the app role the chart's hook creates.
enable_app_secret_rotation = false
