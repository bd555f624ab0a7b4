environment     = "prod"
region          = "eu-central-1"
cluster_version = "1.36"

cluster_endpoint_public_access       = true
cluster_endpoint_public_access_cidrs = ["0.0.0.0/0"]

node_instance_types = ["m6i.large"]
node_capacity_type  = "ON_DEMAND"
node_min_size       = 3
node_desired_size   = 3
node_max_size       = 11 # maxReplicas (10) + 1 for the rolling-update surge: one app pod per node

# admin_principal_arns: environments.prod.admin_principal_arns in infra/envs/project.toml.
