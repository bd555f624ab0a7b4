environment    = "prod"
location       = "westeurope"
engine_version = "16"
sku_name       = "GP_Standard_D4ds_v5"

backup_retention_days        = 35
geo_redundant_backup_enabled = true
replica_zones                = ["2", "3"]
