# Shared mock values of the AWS provider for every module's `terraform test`.
# Realistic ARNs and IDs: arguments that validate their format accept them.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDAEXAMPLEUSERID0001"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "eu-central-1"
  }
}

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mock-role"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::test-app-tfstate-123456789012-eu-central-1"
  }
}

mock_resource "aws_vpc" {
  defaults = {
    id  = "vpc-0a1b2c3d4e5f60718"
    arn = "arn:aws:ec2:eu-central-1:123456789012:vpc/vpc-0a1b2c3d4e5f60718"
  }
}

mock_resource "aws_subnet" {
  defaults = {
    id = "subnet-0a1b2c3d4e5f60718"
  }
}

mock_resource "aws_security_group" {
  defaults = {
    id  = "sg-0a1b2c3d4e5f60718"
    arn = "arn:aws:ec2:eu-central-1:123456789012:security-group/sg-0a1b2c3d4e5f60718"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-central-1:123456789012:log-group:/aws/mock"
  }
}

mock_resource "aws_eks_cluster" {
  defaults = {
    arn = "arn:aws:eks:eu-central-1:123456789012:cluster/test-app-staging"
    vpc_config = [{
      cluster_security_group_id = "sg-0c1b2c3d4e5f60719"
      vpc_id                    = "vpc-0a1b2c3d4e5f60718"
    }]
  }
}

mock_resource "aws_launch_template" {
  defaults = {
    id             = "lt-0a1b2c3d4e5f60718"
    latest_version = 1
  }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:eu-central-1:123456789012:repository/test-app"
    repository_url = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/test-app"
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = {
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }
}

mock_resource "aws_rds_cluster" {
  defaults = {
    arn = "arn:aws:rds:eu-central-1:123456789012:cluster:test-app-staging"
  }
}
