environment       = "staging"
region            = "eu-central-1"
github_repository = "acme/test-app"
repository_name   = "test-app"
push_subjects     = ["ref:refs/heads/main", "ref:refs/tags/v*"]
deploy_namespaces = ["test-app"]
