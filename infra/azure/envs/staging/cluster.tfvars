environment        = "staging"
location           = "germanywestcentral"
kubernetes_version = "1.33"
registry_name      = "acmetestappstaging"
key_vault_name     = "acme-test-app-staging"

# Your administrators' Entra ID group:
# admin_group_object_ids = ["00000000-0000-0000-0000-000000000000"]
admin_group_object_ids = []

# Who may write the app's database secret when applying the database stack by hand:
# key_vault_secret_officer_object_ids = { operator = "00000000-0000-0000-0000-000000000000" }
key_vault_secret_officer_object_ids = {}

user_node_min_count_per_zone = 1
user_node_max_count_per_zone = 2
