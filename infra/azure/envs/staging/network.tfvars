environment   = "staging"
location      = "westeurope"
address_space = "10.30.0.0/16"
