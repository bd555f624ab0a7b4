environment   = "staging"
location      = "germanywestcentral"
registry_name = "acmetestappstaging" # unique across Azure: replace acme with yours
