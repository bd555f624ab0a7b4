environment       = "prod"
region            = "eu-central-1"
github_repository = "acme/test-app"
repository_name   = "test-app"
push_subjects     = ["ref:refs/heads/main", "ref:refs/tags/v*"]
deploy_namespaces = ["test-app"]
# Same AWS account as staging? The OIDC provider exists once per account:
# create_oidc_provider = false
# The registry is in the staging (build) account: the deploy role reads images and
# signatures there, and no push role is created here. Set it to the staging account ID.
# registry_account_id = "111111111111"
