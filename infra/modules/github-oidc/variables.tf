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
# OIDC provider
################################################################################

variable "create_oidc_provider" {
  description = "Creates the GitHub Actions OIDC provider. There is one per account: set to `false` when another stack or environment in the same account already created it."
  type        = bool
  default     = true
}

variable "thumbprint_list" {
  description = "Certificate thumbprints of the GitHub OIDC issuer (AWS no longer checks them for this issuer, but the API still records them). 40 lowercase hex characters each."
  type        = list(string)
  default     = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]

  validation {
    condition     = length(var.thumbprint_list) > 0 && alltrue([for t in var.thumbprint_list : can(regex("^[0-9a-f]{40}$", t))])
    error_message = "thumbprint_list must hold at least one 40-character lowercase hex thumbprint."
  }
}

################################################################################
# Roles
################################################################################

variable "repository" {
  description = "GitHub repository allowed to assume the roles, as `owner/name` (e.g. `acme/test-app`). No wildcards."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.repository))
    error_message = "repository must be owner/name without wildcards, e.g. acme/test-app."
  }
}

variable "name_prefix" {
  description = "Prefix of the role names, e.g. `test-app-staging` gives `test-app-staging-<role key>`."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9+=,.@_-]{0,40}$", var.name_prefix))
    error_message = "name_prefix must start with a letter and hold at most 41 characters valid in IAM role names."
  }
}

variable "roles" {
  description = "Roles keyed by a short name. `subjects` are the token subjects after `repo:<repository>:`, each `ref:refs/heads/<branch>`, `ref:refs/tags/<tag pattern>`, `environment:<name>` or `pull_request`; branch and environment names take no wildcard. `policy_json` is the role's inline policy; `managed_policy_arns` attaches managed policies on top (default none)."
  type = map(object({
    description          = string
    subjects             = list(string)
    policy_json          = string
    managed_policy_arns  = optional(list(string), [])
    max_session_duration = optional(number, 3600)
  }))

  validation {
    condition     = length(var.roles) > 0
    error_message = "roles must define at least one role."
  }

  validation {
    condition = alltrue([for r in values(var.roles) : length(r.subjects) > 0 && alltrue([for s in r.subjects :
      can(regex("^(ref:refs/heads/[A-Za-z0-9._/-]+|ref:refs/tags/[A-Za-z0-9._/*-]+|environment:[A-Za-z0-9._-]+|pull_request)$", s))
    ])])
    error_message = "roles: every subject must be ref:refs/heads/<branch>, ref:refs/tags/<pattern>, environment:<name> or pull_request, without wildcards outside tag patterns."
  }

  validation {
    condition = alltrue([for r in values(var.roles) : alltrue([for a in r.managed_policy_arns :
      can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a))
    ])])
    error_message = "roles: every managed_policy_arns entry must be an IAM policy ARN (arn:aws:iam::aws:policy/<name> or arn:aws:iam::<account>:policy/<name>)."
  }

  validation {
    condition     = alltrue([for r in values(var.roles) : r.max_session_duration >= 900 && r.max_session_duration <= 43200])
    error_message = "roles: max_session_duration must be between 900 and 43200 seconds."
  }
}
