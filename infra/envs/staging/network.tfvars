environment = "staging"
region      = "eu-central-1"
vpc_cidr    = "10.10.0.0/16"
# One NAT gateway instead of three: about 2/3 of the NAT hourly cost saved; a zone
# outage cuts egress of the other zones (acceptable for staging).
single_nat_gateway = true
