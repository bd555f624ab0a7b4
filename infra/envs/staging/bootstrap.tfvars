environment = "staging"
region      = "eu-central-1"
# allowed_account_ids (a guard against the wrong credentials): environments.staging.account_id
# in infra/envs/project.toml.
