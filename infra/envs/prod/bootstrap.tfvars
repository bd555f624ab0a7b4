environment = "prod"
region      = "eu-central-1"
# allowed_account_ids = ["222222222222"]  # your prod account
