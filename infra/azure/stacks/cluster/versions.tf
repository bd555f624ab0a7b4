terraform {
  required_version = ">= 1.11"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "5.10.0"
    }
  }

  # Partial configuration: infra/azure/envs/<env>/backend.tfbackend plus
  # key = "<env>/<stack>.tfstate". The azurerm backend locks the state with a blob lease.
  backend "azurerm" {}
}
