"""The app secret's rotation function (alternating users), as AWS Lambda runs it."""
