environment       = "prod"
location          = "westeurope"
push_subjects     = ["ref:refs/heads/main"]
deploy_namespaces = ["test-app"]
