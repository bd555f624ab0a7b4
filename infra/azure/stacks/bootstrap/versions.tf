terraform {
  required_version = ">= 1.11"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "5.10.0"
    }
  }

  # Local state: this stack creates the storage account every other stack keeps its state in.
  backend "local" {}
}
