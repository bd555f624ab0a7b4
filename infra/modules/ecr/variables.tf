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
  description = "Creates a customer-managed KMS key (rotation on) for the images. Set to `false` and pass `kms_key_arn` to use an existing key."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of an existing KMS key used when `create_kms_key` is `false`. Must be a KMS key ARN."
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

################################################################################
# Repository
################################################################################

variable "repository_name" {
  description = "Name of the repository, e.g. `test-app`. Lowercase letters, digits and `._-/` separators, 2 to 256 characters."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.repository_name)) && length(var.repository_name) >= 2 && length(var.repository_name) <= 256
    error_message = "repository_name must be 2-256 lowercase letters or digits separated by '.', '_', '-' or '/'."
  }
}

variable "force_delete" {
  description = "Lets `terraform destroy` delete a repository that still holds images. Keep `false` (default) outside throwaway accounts."
  type        = bool
  default     = false
}

variable "repository_tags" {
  description = "Additional tags for the repository."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Lifecycle policy
################################################################################

variable "untagged_image_expiration_days" {
  description = "Days after which untagged images (left behind by re-pushed builds) expire. Must be between `1` and `365`."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_image_expiration_days >= 1 && var.untagged_image_expiration_days <= 365
    error_message = "untagged_image_expiration_days must be between 1 and 365."
  }
}

variable "releases_to_keep" {
  description = "Number of most recent releases kept (each is `manifests_per_release` manifests); older ones expire. Must be between `10` and `1000` so rollbacks stay possible."
  type        = number
  default     = 100

  validation {
    condition     = var.releases_to_keep >= 10 && var.releases_to_keep <= 1000
    error_message = "releases_to_keep must be between 10 and 1000."
  }
}

variable "manifests_per_release" {
  description = "Tagged manifests one release pushes: the image and cosign's signature (`sha256-<digest>.sig`) in CI, which the lifecycle rule counts alike. Must be between `1` and `10`."
  type        = number
  default     = 2

  validation {
    condition     = var.manifests_per_release >= 1 && var.manifests_per_release <= 10 && floor(var.manifests_per_release) == var.manifests_per_release
    error_message = "manifests_per_release must be a whole number between 1 and 10."
  }
}

variable "pull_account_ids" {
  description = "Other AWS accounts whose principals may pull from the repository (read-only: `BatchGetImage`, `GetDownloadUrlForLayer`, `BatchCheckLayerAvailability`, `DescribeImages`), e.g. the prod account when one registry in the build account serves every environment. Each principal still needs the same actions in its own IAM policy. Default none (no repository policy)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.pull_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "pull_account_ids must be 12-digit AWS account IDs."
  }
}
