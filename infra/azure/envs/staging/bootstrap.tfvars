environment = "staging"
location    = "westeurope"
# Your workstation's and CI's public egress addresses; everything else is denied.
state_allowed_ip_ranges = []
