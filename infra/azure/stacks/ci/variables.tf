variable "github_repository" {
  description = "The GitHub repository (`owner/name`) whose workflows may use the identities."
  type        = string
}

variable "push_subjects" {
  description = "GitHub OIDC subjects that may push images, e.g. `ref:refs/heads/main`. Azure matches subjects exactly (no wildcards): release tags push from a GitHub environment instead."
  type        = list(string)
  default     = ["ref:refs/heads/main"]
  nullable    = false
}

variable "deploy_namespaces" {
  description = "Namespaces the deploy identity may write to (Azure RBAC Writer on each)."
  type        = list(string)
  default     = ["test-app"]
  nullable    = false
}

variable "state_container_name" {
  description = "Name of the state container (bootstrap stack output)."
  type        = string
  default     = "tfstate"
}
