environment   = "prod"
location      = "westeurope"
address_space = "10.40.0.0/16"
