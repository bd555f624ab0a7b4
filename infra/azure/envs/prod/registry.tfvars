environment   = "prod"
location      = "germanywestcentral"
registry_name = "acmetestappprod" # unique across Azure: replace acme with yours
