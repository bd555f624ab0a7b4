environment     = "staging"
region          = "eu-central-1"
cluster_version = "1.33"

# GitHub-hosted runners deploy, so the API endpoint is public (IAM authentication
# still applies). Narrow the CIDRs if your runners have fixed egress addresses.
cluster_endpoint_public_access       = true
cluster_endpoint_public_access_cidrs = ["0.0.0.0/0"]

node_instance_types = ["m6i.large", "m5.large"]
node_capacity_type  = "SPOT"
node_min_size       = 3
node_desired_size   = 3
node_max_size       = 7 # maxReplicas (6) + 1 for the rolling-update surge: one app pod per node

# Your administrator role, e.g. the SSO role you use in the console:
# admin_principal_arns = ["arn:aws:iam::111111111111:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef"]
admin_principal_arns = []
