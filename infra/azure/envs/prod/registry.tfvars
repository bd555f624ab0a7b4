environment = "prod"
location    = "westeurope"
