environment = "prod"
region      = "eu-central-1"
vpc_cidr    = "10.20.0.0/16"
# One NAT gateway per zone: a zone outage leaves the other zones' egress intact.
single_nat_gateway = false
