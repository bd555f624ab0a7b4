mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name = "test-app-staging"
  cidr = "10.10.0.0/16"
  azs  = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
}

run "three_zones_public_and_private" {
  command = plan

  assert {
    condition     = length(aws_subnet.private) == 3 && length(distinct(aws_subnet.private[*].availability_zone)) == 3
    error_message = "There must be one private subnet in each of the three zones."
  }

  assert {
    condition     = length(aws_subnet.public) == 3 && length(distinct(aws_subnet.public[*].availability_zone)) == 3
    error_message = "There must be one public subnet in each of the three zones."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : s.map_public_ip_on_launch == false])
    error_message = "Nothing may get a public IP just by starting in a public subnet."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.private : s.tags["kubernetes.io/role/internal-elb"] == "1" && s.tags["Tier"] == "private"])
    error_message = "Private subnets need the internal-elb role tag and Tier=private."
  }

  assert {
    condition     = alltrue([for s in aws_subnet.public : s.tags["kubernetes.io/role/elb"] == "1" && s.tags["Tier"] == "public"])
    error_message = "Public subnets need the elb role tag and Tier=public."
  }

  assert {
    condition     = length(setintersection(aws_subnet.public[*].cidr_block, aws_subnet.private[*].cidr_block)) == 0 && alltrue([for c in concat(aws_subnet.public[*].cidr_block, aws_subnet.private[*].cidr_block) : startswith(c, "10.10.")])
    error_message = "Subnets must be distinct and inside the VPC."
  }

  assert {
    condition     = length(aws_route.private_nat_gateway) == 3 && length(aws_route.public_internet_gateway) == 1
    error_message = "Private subnets must route through NAT; only the public table routes to the internet gateway."
  }

  assert {
    condition     = aws_vpc.this[0].enable_dns_hostnames && aws_vpc.this[0].enable_dns_support
    error_message = "EKS needs DNS hostnames and support in the VPC."
  }
}

run "one_nat_gateway_per_zone_by_default" {
  command = plan

  assert {
    condition     = length(aws_nat_gateway.this) == 3 && length(aws_eip.nat) == 3
    error_message = "Without single_nat_gateway each zone must get its own NAT gateway."
  }
}

run "single_nat_gateway_for_staging" {
  command = plan

  variables {
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_route.private_nat_gateway) == 3
    error_message = "single_nat_gateway must give one NAT gateway that all three private route tables use."
  }
}

run "encrypted_flow_logs" {
  command = apply

  assert {
    condition     = aws_flow_log.this[0].traffic_type == "ALL" && aws_flow_log.this[0].log_destination_type == "cloud-watch-logs"
    error_message = "All traffic must be logged to CloudWatch."
  }

  assert {
    condition     = module.flow_log_kms.key_rotation_enabled && aws_cloudwatch_log_group.flow_log[0].retention_in_days >= 365
    error_message = "The flow log group must be KMS-encrypted (rotating key) and kept a year."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_log[0].kms_key_id == "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "The flow log group must use the module's KMS key."
  }

  # A role that may create log groups re-creates a deleted group while the flow log still
  # delivers (the EKS log group's problem, terraform-aws-eks#920): the re-create would fail.
  assert {
    condition     = alltrue([for statement in data.aws_iam_policy_document.flow_log[0].statement : !contains(statement.actions, "logs:CreateLogGroup") && !contains(statement.actions, "logs:*")])
    error_message = "The flow log's role must not create log groups: Terraform owns the group."
  }
}

run "default_security_group_closed" {
  command = plan

  assert {
    condition     = length(aws_default_security_group.this[0].ingress) == 0 && length(aws_default_security_group.this[0].egress) == 0
    error_message = "The default security group must admit nothing."
  }
}

run "disabled" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_vpc.this) == 0 && length(aws_subnet.private) == 0 && length(aws_nat_gateway.this) == 0
    error_message = "create = false must create nothing."
  }
}

run "invalid_name" {
  command = plan

  variables {
    name = "Test App"
  }

  expect_failures = [var.name]
}

run "invalid_cidr" {
  command = plan

  variables {
    cidr = "10.0.0.0/8"
  }

  expect_failures = [var.cidr]
}

run "two_zones_rejected" {
  command = plan

  variables {
    azs = ["eu-central-1a", "eu-central-1b"]
  }

  expect_failures = [var.azs]
}

run "invalid_public_newbits" {
  command = plan

  variables {
    public_subnet_newbits = 12
  }

  expect_failures = [var.public_subnet_newbits]
}

run "invalid_private_newbits" {
  command = plan

  variables {
    private_subnet_newbits = 1
  }

  expect_failures = [var.private_subnet_newbits]
}

run "invalid_traffic_type" {
  command = plan

  variables {
    flow_log_traffic_type = "SOME"
  }

  expect_failures = [var.flow_log_traffic_type]
}

run "invalid_retention" {
  command = plan

  variables {
    flow_log_retention_in_days = 30
  }

  expect_failures = [var.flow_log_retention_in_days]
}

run "invalid_deletion_window" {
  command = plan

  variables {
    kms_key_deletion_window_in_days = 45
  }

  expect_failures = [var.kms_key_deletion_window_in_days]
}
