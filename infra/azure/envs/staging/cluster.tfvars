environment        = "staging"
location           = "westeurope"
kubernetes_version = "1.36"

# Your administrators' Entra ID group:
# admin_group_object_ids = ["<the group's object ID>"]
admin_group_object_ids = []

# Who may write the app's database secret when applying the database stack by hand:
# key_vault_secret_officer_object_ids = { operator = "<your object ID>" }
key_vault_secret_officer_object_ids = {}

user_node_min_count_per_zone = 1
user_node_max_count_per_zone = 2
