environment    = "staging"
region         = "eu-central-1"
engine_version = "17.7"
instance_class = "db.t4g.medium"

backup_retention_period = 3
deletion_protection     = false
skip_final_snapshot     = true
apply_immediately       = true

reader_min_count  = 1
reader_max_count  = 2
reader_target_cpu = 70

# Rotation is turned on after the first deploy (docs/getting-started.md, phase 10): turning it on
# runs the function's testSecret, which needs the app role the chart's hook creates.
enable_app_secret_rotation = false
