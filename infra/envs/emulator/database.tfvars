environment    = "staging"
region         = "eu-central-1"
engine_version = "17.7"
instance_class = "db.t4g.medium"

deletion_protection     = false
skip_final_snapshot     = true
apply_immediately       = true
backup_retention_period = 1

# moto does not return Performance Insights settings (permanent drift otherwise).
performance_insights_enabled = false

# Writer plus one reader: the smallest topology that still has a reader endpoint.
reader_min_count = 1
reader_max_count = 2

timeouts = { create = "5m", update = "5m", delete = "5m" }

# The rotation function and everything around it are created (role and policy, permission, log
# group and its key, security group rules, alarm topic, event rule and alarms); the round trip
# builds the function's zip with a throwaway CA and passes it as rotation_package. Rotation stays
# off (enable_app_secret_rotation defaults to false): moto runs functions only in Docker (not used),
# and no PostgreSQL answers in the emulator (the handler's steps are tested by
# tests/infra/test_rotation_function.py against moto and a TLS PostgreSQL). No ephemeral
# initial password either (the emulator's secret holds none; nothing logs in).
create_app_secret_rotation = true
generate_initial_password  = false
