# Not applied in the recommended setup: prod pulls from the staging (build) account's
# registry, see infra/envs/staging/registry.tfvars and docs/infrastructure.md ("One
# registry"). Kept for the separate-registry variant, where a promotion step copies the
# signed digest into this repository before the prod deploy.
environment     = "prod"
region          = "eu-central-1"
repository_name = "test-app"
