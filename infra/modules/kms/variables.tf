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
# Key policy
################################################################################

variable "cloudwatch_logs_log_group_name" {
  description = "Name of the CloudWatch Logs log group (e.g. `/aws/eks/test-app-staging/cluster`) the key may encrypt: adds a statement for the regional Logs service, bound to that log group. Default `null`: only the account administers and uses the key."
  type        = string
  default     = null

  validation {
    condition     = var.cloudwatch_logs_log_group_name == null || can(regex("^/?[A-Za-z0-9_./#-]{1,512}$", var.cloudwatch_logs_log_group_name))
    error_message = "cloudwatch_logs_log_group_name must be a log group name: 1 to 512 of letters, digits and `_-./#`."
  }
}

################################################################################
# Key
################################################################################

variable "description" {
  description = "What the key encrypts, shown in the KMS console, e.g. \"Encrypts the images of the ECR repository test-app\"."
  type        = string

  validation {
    condition     = length(var.description) > 0 && length(var.description) <= 8192
    error_message = "description must be between 1 and 8192 characters."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period before a deleted key is destroyed. Must be between `7` and `30`."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

################################################################################
# Alias
################################################################################

variable "alias_name" {
  description = "Alias of the key without the `alias/` prefix, e.g. `eks/test-app-staging`. Default `null`: no alias. Must not start with `aws/` (reserved by AWS)."
  type        = string
  default     = null

  validation {
    condition     = var.alias_name == null || try(can(regex("^[A-Za-z0-9/_-]{1,250}$", var.alias_name)) && !startswith(var.alias_name, "alias/") && !startswith(var.alias_name, "aws/"), false)
    error_message = "alias_name must be 1 to 250 of letters, digits and `/_-`, without the `alias/` prefix and not starting with `aws/`."
  }
}
