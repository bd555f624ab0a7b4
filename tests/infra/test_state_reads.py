"""The walkthrough reads Terraform outputs only from folders initialised for the read's environment.

Phase 11 used to read prod's alarm topic with `terraform output` right after `make infra
ENV=staging` re-initialised every stack folder for staging (test_app_tooling.infra.state_reads):
prod's pager subscribed to staging's topic, or the read failed in prod's account.
"""

from __future__ import annotations

import day_one
from test_app_tooling.infra import cli_queries, state_reads
from test_app_tooling.walkthrough import sections


ENVIRONMENTS = list(day_one.LAYOUTS["separate accounts"])
OLD_READ = (
    "   TOPIC=$(scripts/terraform/tf -chdir=infra/stacks/database output -raw alarm_topic_arn)\n"
)


def _problems(text: str) -> list[str]:
    return state_reads.problems(day_one.load(), sections(text), ENVIRONMENTS)


def _guide() -> str:
    return day_one.WALKTHROUGH.read_text(encoding="utf-8")


def _with_old_topic_reads(text: str) -> str:
    """Phases 10 and 11 as they were: the topic read from the database stack's state."""
    for env in ENVIRONMENTS:
        new = (
            f"   TOPIC=$(aws cloudwatch describe-alarms --alarm-names "
            f"test-app-{env}-db-rotation-failed \\\n"
        )
        start = text.index(new)
        end = text.index("\n", text.index("--query", start)) + 1
        text = text[:start] + OLD_READ + text[end:]
    return text


def test_the_walkthrough_reads_no_output_of_another_environment():
    assert _problems(_guide()) == []
    assert day_one.check_state_reads(day_one.load(), _guide()) == []


def test_phase_11_reading_prods_topic_from_the_folder_staging_left_fails():
    old = _with_old_topic_reads(_guide())
    assert _problems(old) == [
        (
            "phase 'prod' reads output 'alarm_topic_arn' of database for prod, but "
            "infra/stacks/database was last initialised for staging (phase 'prod'): the read "
            "returns staging's value, or fails with prod's credentials; read it from AWS, or "
            "right after an init for prod"
        )
    ]


def test_the_helper_reads_of_phase_4_are_checked_too():
    """Phase 4's `tf <stack> <output>` calls, after an init for another environment."""
    text = _guide()
    stacks = sections(text)["Apply the stacks in order"]
    moved = stacks.replace("make infra ENV=staging\n", "make infra ENV=prod\n", 1)
    moved = moved.replace("tf() {", "ENV=staging\n   tf() {", 1)
    problems = _problems(text.replace(stacks, moved))
    assert len(problems) == 9, problems
    assert problems[0].startswith(
        "phase 'stacks' reads output 'vpc_id' of network for staging, but infra/stacks/network "
        "was last initialised for prod (phase 'stacks')"
    )


def test_a_read_before_any_init_or_without_environment_fails():
    read = (
        "```bash\nX=$(scripts/terraform/tf -chdir=infra/stacks/ci output -raw push_role_arn)\n```\n"
    )
    phases = [day_one.Phase("a", "A")]
    assert state_reads.problems(phases, {"A": read}, ENVIRONMENTS) == [
        "phase 'a' reads output 'push_role_arn' of ci without naming an environment before it"
    ]
    named = "```bash\nexport AWS_PROFILE=test-app-prod\n" + read.removeprefix("```bash\n")
    assert state_reads.problems(phases, {"A": named}, ENVIRONMENTS) == [
        "phase 'a' reads output 'push_role_arn' of ci for prod before any init of infra/stacks/ci"
    ]
    applied = "```bash\nscripts/terraform/stacks apply prod ci\n```\n" + named
    assert state_reads.problems(phases, {"A": applied}, ENVIRONMENTS) == []
    # A named stack list initialises only those stacks.
    other = "```bash\nscripts/terraform/stacks apply prod network\n```\n" + named
    assert state_reads.problems(phases, {"A": other}, ENVIRONMENTS) == [
        "phase 'a' reads output 'push_role_arn' of ci for prod before any init of infra/stacks/ci"
    ]


def test_the_topic_is_read_from_the_alarm_with_fields_the_api_has():
    found = [
        q
        for q in cli_queries.queries(_guide(), "docs/getting-started.md")
        if (q.service, q.command) == ("cloudwatch", "describe-alarms")
    ]
    assert [q.query for q in found] == ["MetricAlarms[0].AlarmActions[0]"] * 2
    assert cli_queries.check(found) == []
    wrong = [cli_queries.Query("g:1", "cloudwatch", "describe-alarms", "MetricAlarms[0].Actions")]
    [problem] = cli_queries.check(wrong)
    assert "has no field `Actions`" in problem
