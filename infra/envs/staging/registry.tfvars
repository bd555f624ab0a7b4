environment     = "staging"
region          = "eu-central-1"
repository_name = "test-app"

# The build account's registry serves both environments: the pipeline pushes once, and
# prod's nodes and deploy role pull the same digest cross-account. Add the prod account
# when prod is a separate account (docs/infrastructure.md, "One registry"):
# pull_account_ids = ["222222222222"]
pull_account_ids = []
