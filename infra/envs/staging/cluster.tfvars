environment     = "staging"
region          = "eu-central-1"
cluster_version = "1.36"

# GitHub-hosted runners deploy, so the API endpoint is public (IAM authentication
# still applies). Narrow the CIDRs if your runners have fixed egress addresses.
cluster_endpoint_public_access       = true
cluster_endpoint_public_access_cidrs = ["0.0.0.0/0"]

node_instance_types = ["m6i.large", "m5.large"]
node_capacity_type  = "SPOT"
node_min_size       = 3
node_desired_size   = 3
node_max_size       = 7 # maxReplicas (6) + 1 for the rolling-update surge: one app pod per node

# admin_principal_arns (your administrator role, e.g. the SSO role you use in the console):
# environments.staging.admin_principal_arns in infra/envs/project.toml.
