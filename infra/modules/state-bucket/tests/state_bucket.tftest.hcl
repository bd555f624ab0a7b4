mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  bucket_name = "test-app-tfstate-123456789012-eu-central-1"
}

run "encrypted_versioned_private_bucket" {
  command = plan

  assert {
    condition     = module.kms.key_rotation_enabled
    error_message = "The state key must rotate."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "State must be encrypted with SSE-KMS."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this[0].versioning_configuration[0].status == "Enabled"
    error_message = "State versions must be kept."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this[0].block_public_acls,
      aws_s3_bucket_public_access_block.this[0].block_public_policy,
      aws_s3_bucket_public_access_block.this[0].ignore_public_acls,
      aws_s3_bucket_public_access_block.this[0].restrict_public_buckets,
    ])
    error_message = "Every public access block setting must be on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this[0].rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition     = aws_s3_bucket.this[0].force_destroy == false
    error_message = "force_destroy must default to false."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this[0].rule[0].noncurrent_version_expiration[0].noncurrent_days == 90
    error_message = "Old state versions must expire."
  }
}

run "tls_only_bucket_policy" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 1
    error_message = "The TLS-only bucket policy must be attached by default."
  }

  assert {
    condition = anytrue([for s in data.aws_iam_policy_document.bucket[0].statement :
      s.effect == "Deny" && anytrue([for c in s.condition : c.variable == "aws:SecureTransport" && contains(c.values, "false")])
    ])
    error_message = "The bucket policy must deny requests without TLS."
  }
}

run "policy_switch_for_emulator" {
  command = plan

  variables {
    attach_deny_insecure_transport_policy = false
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 0
    error_message = "The switch must drop the bucket policy."
  }
}

run "existing_kms_key" {
  command = plan

  variables {
    create_kms_key = false
    kms_key_arn    = "arn:aws:kms:eu-central-1:123456789012:key/0000aaaa-11bb-22cc-33dd-444455556666"
  }

  assert {
    condition     = module.kms.key_arn == null && one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    error_message = "An existing key must be used when create_kms_key is false."
  }
}

run "disabled" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 0 && module.kms.key_arn == null
    error_message = "create = false must create nothing."
  }
}

run "invalid_bucket_name" {
  command = plan

  variables {
    bucket_name = "Test_App"
  }

  expect_failures = [var.bucket_name]
}

run "invalid_kms_key_arn" {
  command = plan

  variables {
    kms_key_arn = "not-an-arn"
  }

  expect_failures = [var.kms_key_arn]
}

run "invalid_deletion_window" {
  command = plan

  variables {
    kms_key_deletion_window_in_days = 3
  }

  expect_failures = [var.kms_key_deletion_window_in_days]
}

run "invalid_expiration_days" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "invalid_versions_to_keep" {
  command = plan

  variables {
    noncurrent_versions_to_keep = 500
  }

  expect_failures = [var.noncurrent_versions_to_keep]
}

run "invalid_multipart_days" {
  command = plan

  variables {
    abort_incomplete_multipart_upload_days = 0
  }

  expect_failures = [var.abort_incomplete_multipart_upload_days]
}
