variable "repository_name" {
  description = "Name of the ECR repository. Default `test-app` (docs/conventions.md)."
  type        = string
  default     = "test-app"
}

variable "force_delete" {
  description = "Lets `terraform destroy` delete the repository with its images. Keep `false` (default); the emulator profile sets `true`."
  type        = bool
  default     = false
}

variable "pull_account_ids" {
  description = "Other AWS accounts that pull from the repository (read-only), e.g. the prod account. Default none."
  type        = list(string)
  default     = []
  nullable    = false
}
