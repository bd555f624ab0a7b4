environment    = "staging"
location       = "westeurope"
engine_version = "16"
sku_name       = "GP_Standard_D2ds_v5"

backup_retention_days        = 7
geo_redundant_backup_enabled = false
replica_zones                = ["3"]
