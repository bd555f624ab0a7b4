variable "github_repository" {
  description = "GitHub repository (`owner/name`) whose workflows may assume the roles. Required; set once in infra/envs/project.toml."
  type        = string
}

variable "repository_name" {
  description = "ECR repository the push role may push to (registry stack)."
  type        = string
  default     = "test-app"
}

variable "create_oidc_provider" {
  description = "Creates the account's GitHub OIDC provider. Set `false` in the second environment of a shared account."
  type        = bool
  default     = true
}

variable "push_subjects" {
  description = "Token subjects (after `repo:<repository>:`) allowed to push images: the main branch and release tags by default."
  type        = list(string)
  default     = ["ref:refs/heads/main", "ref:refs/tags/v*"]
}

variable "deploy_subjects" {
  description = "Token subjects allowed to deploy. Empty (default) means the GitHub environment named like this environment (`environment:<env>`), so its protection rules apply."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "deploy_namespaces" {
  description = "Namespaces the deploy role may edit."
  type        = list(string)
  default     = ["test-app"]
}

variable "deploy_kubernetes_groups" {
  description = "Kubernetes groups of the deploy role's access entry. Default `[\"test-app-deployers\"]`, the group platform/manifests/deploy-rbac.yaml binds to the chart's custom resources in `deploy_namespaces`."
  type        = list(string)
  default     = ["test-app-deployers"]
  nullable    = false
}

variable "create_cluster_access_entry" {
  description = "Gives the deploy role its access entry in the cluster. Only the emulator profile sets `false`."
  type        = bool
  default     = true
}

variable "state_bucket_name" {
  description = "State bucket the Terraform roles read (bootstrap stack output `state_bucket_name`). Null (default) means the bootstrap default `test-app-tfstate-<account>-<region>`."
  type        = string
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')."
  }
}

variable "registry_account_id" {
  description = "Account of the ECR repository, when it is not this environment's account (prod pulling from the build account's registry). Null (default) means this account's `repository_name` and a push role; set, the deploy role reads that account's repository and no push role is created."
  type        = string
  default     = null

  validation {
    condition     = var.registry_account_id == null || can(regex("^[0-9]{12}$", var.registry_account_id))
    error_message = "registry_account_id must be a 12-digit AWS account ID."
  }
}
