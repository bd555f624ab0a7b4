terraform {
  # 1.11: write-only arguments (the administrator's password, main.tf).
  required_version = ">= 1.11"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "5.10.0"
    }
    azapi = {
      source  = "Azure/azapi"
      version = "2.13.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
  }

  # Partial configuration: infra/azure/envs/<env>/backend.tfbackend plus
  # key = "<env>/<stack>.tfstate". The azurerm backend locks the state with a blob lease.
  backend "azurerm" {}
}
