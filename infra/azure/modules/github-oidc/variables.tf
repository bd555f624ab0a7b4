variable "create" {
  description = "Controls if any resource is created (turns off the whole module)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Identities
################################################################################

variable "name_prefix" {
  description = "Prefix of the identity names, e.g. `test-app-staging-github`; each is `<prefix>-<role>`."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group of the identities."
  type        = string
}

variable "location" {
  description = "Azure region of the identities."
  type        = string
}

variable "identities" {
  description = "Pipeline roles, keyed by name (`push`, `deploy`, ...): the GitHub OIDC subjects allowed to use each (without the `repo:<owner>/<name>:` prefix, e.g. `ref:refs/heads/main`, `environment:prod`) and its role assignments (`scope`, `role_definition_name`). Owner, Contributor and User Access Administrator on a subscription are rejected."
  type = map(object({
    subjects = list(string)
    role_assignments = list(object({
      scope                = string
      role_definition_name = string
      # An ABAC condition (version 2.0), e.g. which roles a role administrator may assign.
      condition = optional(string)
    }))
  }))
  nullable = false

  validation {
    condition     = alltrue([for k, v in var.identities : length(v.subjects) > 0])
    error_message = "Every identity needs at least one subject."
  }

  validation {
    condition = alltrue(flatten([
      for k, v in var.identities : [
        for a in v.role_assignments :
        !(contains(["Owner", "Contributor", "User Access Administrator"], a.role_definition_name) && can(regex("^/subscriptions/[^/]+$", a.scope)))
      ]
    ]))
    error_message = "Owner, Contributor and User Access Administrator must not be assigned on a whole subscription; scope them to resource groups."
  }
}

################################################################################
# Federated credentials
################################################################################

variable "github_repository" {
  description = "The GitHub repository (`owner/name`) whose workflows may use the identities."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}
