variable "state_bucket_name" {
  description = "Name of the state bucket. Null (default) gives `test-app-tfstate-<account id>-<region>`, unique per account and region."
  type        = string
  default     = null
}

variable "state_bucket_force_destroy" {
  description = "Lets `terraform destroy` remove the bucket with every state version in it. Keep `false` (default); the emulator profile sets `true`."
  type        = bool
  default     = false
}

variable "attach_deny_insecure_transport_policy" {
  description = "Attaches the TLS-only bucket policy. Keep `true` (default); only the emulator profile turns it off (the emulator ignores policy conditions)."
  type        = bool
  default     = true
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period of the state key after deletion. Must be between `7` and `30`."
  type        = number
  default     = 30
}

variable "noncurrent_versions_to_keep" {
  description = "Replaced state versions kept regardless of age. Default `10`; the emulator profile sets `null` (moto drops this lifecycle field)."
  type        = number
  default     = 10
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which unfinished multipart uploads are removed. Default `7`; the emulator profile sets `null` (moto's lifecycle read-back never matches it)."
  type        = number
  default     = 7
}
