environment     = "staging"
region          = "eu-central-1"
repository_name = "test-app"
force_delete    = true
