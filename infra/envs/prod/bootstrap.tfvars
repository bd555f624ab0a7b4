environment = "prod"
region      = "eu-central-1"
# allowed_account_ids: environments.prod.account_id in infra/envs/project.toml.
