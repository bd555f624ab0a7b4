environment = "staging"
location    = "westeurope"
