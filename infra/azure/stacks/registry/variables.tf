variable "public_network_access_enabled" {
  description = "Lets GitHub-hosted runners push (with an Entra ID token). Default `true`."
  type        = bool
  default     = true
}

variable "untagged_retention_days" {
  description = "Days an untagged manifest is kept. Default `7`."
  type        = number
  default     = 7
}
