environment                 = "staging"
region                      = "eu-central-1"
github_repository           = "acme/test-app"
repository_name             = "test-app"
create_cluster_access_entry = false # no access entry API in moto
