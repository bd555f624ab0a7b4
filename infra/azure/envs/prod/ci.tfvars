environment                = "prod"
location                   = "germanywestcentral"
github_repository          = "acme/test-app"
push_subjects              = ["ref:refs/heads/main"]
deploy_namespaces          = ["test-app"]
registry_name              = "acmetestappprod"
key_vault_name             = "acme-test-app-prod"
state_storage_account_name = "testapptf000000000000" # the bootstrap stack's output
