environment   = "prod"
location      = "germanywestcentral"
address_space = "10.40.0.0/16"
