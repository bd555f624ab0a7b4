output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this[0].id, null)
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC."
  value       = try(aws_vpc.this[0].cidr_block, null)
}

output "azs" {
  description = "Availability zones the subnets are spread over."
  value       = var.azs
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, one per zone."
  value       = aws_subnet.public[*].id
}

output "public_subnet_cidr_blocks" {
  description = "CIDR blocks of the public subnets (where an internet-facing load balancer's nodes are)."
  value       = aws_subnet.public[*].cidr_block
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, one per zone."
  value       = aws_subnet.private[*].id
}

output "private_subnet_cidr_blocks" {
  description = "CIDR blocks of the private subnets."
  value       = aws_subnet.private[*].cidr_block
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways."
  value       = aws_nat_gateway.this[*].id
}

output "nat_public_ips" {
  description = "Public IPs of the NAT gateways (the egress addresses to allow-list elsewhere)."
  value       = aws_eip.nat[*].public_ip
}

output "flow_log_cloudwatch_log_group_name" {
  description = "Name of the flow log group."
  value       = try(aws_cloudwatch_log_group.flow_log[0].name, null)
}
