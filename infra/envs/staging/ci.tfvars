environment       = "staging"
region            = "eu-central-1"
repository_name   = "test-app"
push_subjects     = ["ref:refs/heads/main", "ref:refs/tags/v*"]
deploy_namespaces = ["test-app"]
# github_repository: infra/envs/project.toml.
