"""The docs' `aws ... --query` filters read fields and values the API has (botocore's models).

A wrong field or enum value in a JMESPath filter prints nothing rather than failing, and the
guide reads an empty answer as "the pinned version is not offered"
(test_app_tooling.infra.cli_queries).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_app_tooling.infra import cli_queries
from test_app_tooling.infra.cli_queries import Query, check, page_queries, queries
from test_app_tooling.tools import REPO


GUIDE = REPO / "docs" / "getting-started.md"
PAGES = sorted((REPO / "docs").rglob("*.md"))

# Phase 4's check as it was: `status` is deprecated and takes lowercase values.
OLD_EKS = "clusterVersions[?status==`STANDARD_SUPPORT`].clusterVersion"


def test_every_query_of_the_docs_matches_the_api():
    found = page_queries(PAGES)
    # The guide's own checks are among them: a page whose commands were not found fails here.
    commands = {(q.service, q.command) for q in found if q.where.startswith("docs/getting-started")}
    assert ("eks", "describe-cluster-versions") in commands
    assert ("rds", "describe-db-engine-versions") in commands
    assert len(found) >= 15, found
    assert check(found) == []


def test_the_old_eks_version_filter_is_refused():
    deprecated, value = check([Query("guide:177", "eks", "describe-cluster-versions", OLD_EKS)])
    assert deprecated.startswith(
        "guide:177 (aws eks describe-cluster-versions): ClusterVersionInformation.status is "
        "deprecated (This field is deprecated. Use versionStatus instead"
    )
    assert value == (
        "guide:177 (aws eks describe-cluster-versions): `STANDARD_SUPPORT` is not a value of "
        "ClusterVersionStatus (one of: unsupported, standard-support, extended-support)"
    )


def test_the_deprecated_field_is_refused_with_its_lowercase_values_too():
    lowercase = OLD_EKS.replace("STANDARD_SUPPORT", "standard-support")
    [problem] = check([Query("g:1", "eks", "describe-cluster-versions", lowercase)])
    assert "ClusterVersionInformation.status is deprecated" in problem
    assert "Use versionStatus instead" in problem


def test_the_guide_checks_eks_and_aurora_versions_with_fields_the_api_has():
    found = {(q.service, q.command): q for q in queries(GUIDE.read_text(encoding="utf-8"), "g")}
    eks = found["eks", "describe-cluster-versions"]
    assert eks.query == "clusterVersions[?versionStatus==`STANDARD_SUPPORT`].clusterVersion"
    aurora = found["rds", "describe-db-engine-versions"]
    assert aurora.query == "DBEngineVersions[].EngineVersion"
    assert check([eks, aurora]) == []
    # The same walk refuses a misspelt Aurora field and an index into a list's items.
    wrong = [
        Query("g:2", "rds", "describe-db-engine-versions", "DBEngineVersions[].Version"),
        Query("g:3", "rds", "describe-db-engine-versions", "DBEngineVersions.EngineVersion"),
    ]
    problems = check(wrong)
    assert len(problems) == 2, problems
    assert problems[0].startswith("g:2 (aws rds describe-db-engine-versions): DBEngineVersion ")
    assert "has no field `Version` (it has: " in problems[0]
    assert "`EngineVersion` is read from DBEngineVersionList, a list" in problems[1]


def test_an_unknown_command_and_an_unparsable_query_are_named():
    problems = check(
        [
            Query("g:1", "eks", "describe-cluster-version", "clusterVersions"),
            Query("g:2", "eks", "describe-cluster-versions", "clusterVersions[?"),
        ]
    )
    assert problems[0] == "g:1: aws eks has no command describe-cluster-version"
    assert problems[1].startswith("g:2: --query 'clusterVersions[?' does not parse: ")


def test_a_projection_of_something_not_a_list_is_refused():
    [problem] = check([Query("g:1", "ecr", "get-repository-policy", "policyText[].x")])
    assert "`[]` projects RepositoryPolicyText, a string, not a list" in problem


def test_commands_are_read_across_continued_lines_with_their_first_line():
    page = (
        "text\n\n   ```bash\n   for id in $(aws rds describe-db-instances --filters x \\\n"
        "       --query 'DBInstances[].DBInstanceIdentifier' \\\n       --output text); do\n"
        "   aws eks list-clusters; aws sts get-caller-identity --query Account\n   ```\n"
        '```\naws logs describe-log-groups --query "logGroups[].logGroupName"\n```\n'
    )
    assert queries(page, "p.md") == [
        Query("p.md:4", "rds", "describe-db-instances", "DBInstances[].DBInstanceIdentifier"),
        Query("p.md:7", "sts", "get-caller-identity", "Account"),
        Query("p.md:10", "logs", "describe-log-groups", "logGroups[].logGroupName"),
    ]
    assert check(queries(page, "p.md")) == []


def test_a_missing_environment_is_an_error_not_a_skip(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="run scripts/bootstrap"):
        cli_queries.data_root(tmp_path)
    with pytest.raises(FileNotFoundError, match="run scripts/bootstrap"):
        cli_queries.parse(["a"], tmp_path)
