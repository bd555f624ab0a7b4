output "vpc_id" {
  description = "ID of the VPC."
  value       = module.vpc.vpc_id
}

output "vpc_cidr_block" {
  description = "CIDR of the VPC (the chart's `networkPolicy.ingress.loadBalancerCidrs`)."
  value       = module.vpc.vpc_cidr_block
}

output "azs" {
  description = "The three availability zones."
  value       = module.vpc.azs
}

output "private_subnet_ids" {
  description = "Private subnets (nodes, pods, database)."
  value       = module.vpc.private_subnet_ids
}

output "public_subnet_ids" {
  description = "Public subnets (load balancers, NAT gateways)."
  value       = module.vpc.public_subnet_ids
}

output "nat_public_ips" {
  description = "Egress IPs of the NAT gateways."
  value       = module.vpc.nat_public_ips
}

output "public_subnet_cidr_blocks" {
  description = "CIDR blocks of the public subnets: the chart's `networkPolicy.ingress.loadBalancerCidrs`."
  value       = module.vpc.public_subnet_cidr_blocks
}

output "private_subnet_cidr_blocks" {
  description = "CIDR blocks of the private subnets (nodes, pods, Aurora): the chart's `networkPolicy.egress.databaseCidrs`."
  value       = module.vpc.private_subnet_cidr_blocks
}
