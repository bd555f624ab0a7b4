environment   = "staging"
location      = "germanywestcentral"
address_space = "10.30.0.0/16"
