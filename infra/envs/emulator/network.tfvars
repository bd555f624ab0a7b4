environment        = "staging"
region             = "eu-central-1"
vpc_cidr           = "10.10.0.0/16"
single_nat_gateway = true
