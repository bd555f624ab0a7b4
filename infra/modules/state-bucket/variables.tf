variable "create" {
  description = "Controls if any resource of this module is created. Valid values are `true` (default) and `false`."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource of this module (on top of the provider's `default_tags`)."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# KMS key
################################################################################

variable "create_kms_key" {
  description = "Creates a customer-managed KMS key (rotation on) for the bucket. Set to `false` and pass `kms_key_arn` to use an existing key."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key used when `create_kms_key` is `false`. Must be a KMS key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as arn:aws:kms:eu-central-1:123456789012:key/<id>."
  }
}

variable "kms_key_deletion_window_in_days" {
  description = "Waiting period before a deleted KMS key is destroyed. Must be between `7` and `30`."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_key_deletion_window_in_days >= 7 && var.kms_key_deletion_window_in_days <= 30
    error_message = "kms_key_deletion_window_in_days must be between 7 and 30."
  }
}

variable "kms_key_tags" {
  description = "Additional tags for the KMS key."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# S3 bucket
################################################################################

variable "bucket_name" {
  description = "Name of the state bucket. Must be 3 to 63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit."
  }
}

variable "force_destroy" {
  description = "Lets `terraform destroy` delete a bucket that still holds state versions. Keep `false` (default) outside throwaway accounts."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a replaced state version expires. Must be between `1` and `3650`."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650
    error_message = "noncurrent_version_expiration_days must be between 1 and 3650."
  }
}

variable "noncurrent_versions_to_keep" {
  description = "Number of replaced state versions kept regardless of age. Must be between `1` and `100`; `null` keeps none beyond `noncurrent_version_expiration_days`."
  type        = number
  default     = 10

  validation {
    condition     = var.noncurrent_versions_to_keep == null || try(var.noncurrent_versions_to_keep >= 1 && var.noncurrent_versions_to_keep <= 100, false)
    error_message = "noncurrent_versions_to_keep must be between 1 and 100."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which unfinished multipart uploads are removed. Must be between `1` and `365`; `null` leaves them."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days == null || try(var.abort_incomplete_multipart_upload_days >= 1 && var.abort_incomplete_multipart_upload_days <= 365, false)
    error_message = "abort_incomplete_multipart_upload_days must be between 1 and 365."
  }
}

variable "bucket_tags" {
  description = "Additional tags for the bucket."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Bucket policy
################################################################################

variable "attach_deny_insecure_transport_policy" {
  description = "Attaches a bucket policy that denies requests without TLS 1.2+. Keep `true` (default); only the emulator profile turns it off because the emulator ignores policy conditions."
  type        = bool
  default     = true
}
