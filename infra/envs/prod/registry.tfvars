environment     = "prod"
region          = "eu-central-1"
repository_name = "test-app"
