variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC, `/16` to `/20`. Default `10.0.0.0/16`."
  type        = string
  default     = "10.0.0.0/16"
}

variable "azs" {
  description = "Three availability zones. Empty (default) takes the first three of the region."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, staging) instead of one per zone (prod). Default `false`."
  type        = bool
  default     = false
}
