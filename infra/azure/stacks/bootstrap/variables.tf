variable "state_replication_type" {
  description = "Redundancy of the state: `ZRS`, `GZRS` (default) or `RAGZRS`."
  type        = string
  default     = "GZRS"
}

variable "state_soft_delete_retention_days" {
  description = "Days a deleted or overwritten state can be restored. Must be between `7` and `365`; default `30`."
  type        = number
  default     = 30
}

variable "state_allowed_ip_ranges" {
  description = "Public addresses or ranges allowed to reach the state (your workstation, CI egress); every other address is denied."
  type        = list(string)
  default     = []
  nullable    = false
}
