environment = "staging"
region      = "eu-central-1"
# allowed_account_ids = ["111111111111"]  # your staging account: a guard against the wrong credentials
