mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  repository_name = "test-app"
}

run "immutable_scanned_encrypted_repository" {
  command = plan

  assert {
    condition     = aws_ecr_repository.this[0].image_tag_mutability == "IMMUTABLE"
    error_message = "Tags must be immutable: a released tag always names the same image."
  }

  assert {
    condition     = aws_ecr_repository.this[0].image_scanning_configuration[0].scan_on_push
    error_message = "Images must be scanned on push."
  }

  assert {
    condition     = aws_ecr_repository.this[0].encryption_configuration[0].encryption_type == "KMS"
    error_message = "Images must be encrypted with KMS."
  }

  assert {
    condition     = module.kms.key_rotation_enabled
    error_message = "The image key must rotate."
  }

  assert {
    condition     = aws_ecr_repository.this[0].force_delete == false
    error_message = "force_delete must default to false."
  }
}

run "lifecycle_policy" {
  command = plan

  assert {
    condition     = length(jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules) == 2
    error_message = "The lifecycle policy must expire untagged images and cap the image count."
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules[0].selection.tagStatus == "untagged" && jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules[1].selection.countNumber == 200
    error_message = "Untagged images expire first; the last 100 releases are kept: 200 manifests, each release's image and its cosign signature."
  }
}

run "the_count_is_releases_times_their_manifests" {
  command = plan

  variables {
    releases_to_keep      = 30
    manifests_per_release = 3
  }

  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules[1].selection.countNumber == 90 && jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules[1].selection.tagStatus == "any"
    error_message = "30 releases of 3 manifests each are 90 manifests to keep, of any tag."
  }
}

run "no_repository_policy_by_default" {
  command = plan

  assert {
    condition     = length(aws_ecr_repository_policy.this) == 0
    error_message = "Without pull_account_ids the repository has no resource policy."
  }
}

run "pull_from_other_accounts" {
  command = plan

  variables {
    pull_account_ids = ["210987654321"]
  }

  assert {
    condition     = join(",", flatten([for s in data.aws_iam_policy_document.pull[0].statement : [for p in s.principals : tolist(p.identifiers)]])) == "arn:aws:iam::210987654321:root"
    error_message = "Only the listed accounts may pull."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.pull[0].statement).actions == toset(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"])
    error_message = "Other accounts get read-only actions: never push or delete."
  }

  assert {
    condition     = aws_ecr_repository_policy.this[0].repository == "test-app"
    error_message = "The pull policy must be attached to the repository."
  }
}

run "key_passed_in" {
  command = apply

  variables {
    create_kms_key = false
    kms_key_arn    = "arn:aws:kms:eu-central-1:123456789012:key/0000aaaa-11bb-22cc-33dd-444455556666"
  }

  assert {
    condition     = module.kms.key_arn == null && aws_ecr_repository.this[0].encryption_configuration[0].kms_key == var.kms_key_arn
    error_message = "An existing key must be used when create_kms_key is false."
  }
}

run "disabled" {
  command = plan

  variables {
    create = false
  }

  assert {
    condition     = length(aws_ecr_repository.this) == 0 && module.kms.key_arn == null
    error_message = "create = false must create nothing."
  }
}

run "invalid_repository_name" {
  command = plan

  variables {
    repository_name = "Test_App!"
  }

  expect_failures = [var.repository_name]
}

run "invalid_kms_key_arn" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:s3:::not-a-key"
  }

  expect_failures = [var.kms_key_arn]
}

run "invalid_deletion_window" {
  command = plan

  variables {
    kms_key_deletion_window_in_days = 1
  }

  expect_failures = [var.kms_key_deletion_window_in_days]
}

run "invalid_untagged_expiration" {
  command = plan

  variables {
    untagged_image_expiration_days = 0
  }

  expect_failures = [var.untagged_image_expiration_days]
}

run "too_few_images_kept" {
  command = plan

  variables {
    releases_to_keep = 2
  }

  expect_failures = [var.releases_to_keep]
}

run "a_fraction_of_a_manifest_per_release_is_refused" {
  command = plan

  variables {
    manifests_per_release = 1.5
  }

  expect_failures = [var.manifests_per_release]
}

run "invalid_pull_account_id" {
  command = plan
  variables {
    pull_account_ids = ["prod"]
  }
  expect_failures = [var.pull_account_ids]
}
