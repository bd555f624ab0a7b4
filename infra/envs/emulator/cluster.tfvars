environment     = "staging"
region          = "eu-central-1"
cluster_version = "1.36"

node_instance_types = ["m6i.large"]
node_min_size       = 1
node_desired_size   = 1
node_max_size       = 3

cluster_timeouts    = { create = "5m", update = "5m", delete = "5m" }
node_group_timeouts = { create = "5m", update = "5m", delete = "5m" }

# moto has no API for add-ons, access entries or pod identity associations; the
# mock tests of the eks module cover them. The pod identity IAM roles are still created.
create_addons                    = false
create_access_entries            = false
create_pod_identity_associations = false
