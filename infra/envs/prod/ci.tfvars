environment       = "prod"
region            = "eu-central-1"
repository_name   = "test-app"
push_subjects     = ["ref:refs/heads/main", "ref:refs/tags/v*"]
deploy_namespaces = ["test-app"]
# github_repository, and the cross-account wiring (registry_account_id when prod is its own
# account, create_oidc_provider = false when it shares staging's): infra/envs/project.toml.
