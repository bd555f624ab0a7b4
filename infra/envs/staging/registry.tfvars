environment     = "staging"
region          = "eu-central-1"
repository_name = "test-app"

# The build account's registry serves both environments: the pipeline pushes once, and
# prod's nodes and deploy role pull the same digest cross-account. pull_account_ids (the prod
# account when it is a separate one) comes from infra/envs/project.toml.
