"""Checkers for the Terraform trees: IAM policy evaluation, the azurerm schema, HCL, references."""
