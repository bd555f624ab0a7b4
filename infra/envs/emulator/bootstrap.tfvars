environment                            = "staging"
region                                 = "eu-central-1"
state_bucket_force_destroy             = true
attach_deny_insecure_transport_policy  = false # moto ignores the policy's Condition and would deny the backend
kms_key_deletion_window_in_days        = 7
noncurrent_versions_to_keep            = null # moto drops NewerNoncurrentVersions; the provider would wait for it
abort_incomplete_multipart_upload_days = null # moto: the rule never reads back equal (getmoto/moto#9729)
