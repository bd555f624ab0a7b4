"""Every stack and module initialises and validates; every module passes its mock tests."""

from __future__ import annotations

import re


def _by_command(results, command):
    found = [r for r in results if r.args[0] == command]
    assert found, f"terraform {command} did not run; init said:\n{results[0].output}"
    return found[0]


def test_init_and_validate(checked_dirs, tf_dir):
    results = checked_dirs[tf_dir]
    init = results[0]
    assert init.returncode == 0, init.output
    validate = _by_command(results, "validate")
    assert validate.returncode == 0, validate.output
    assert "Success! The configuration is valid." in validate.output


def test_module_mock_tests(checked_dirs, module):
    test = _by_command(checked_dirs[f"modules/{module}"], "test")
    assert test.returncode == 0, test.output
    summary = re.search(r"Success! (\d+) passed, 0 failed\.", test.output)
    assert summary, test.output
    # A module's suite checks its guarantees and each validation: never a token test.
    assert int(summary.group(1)) >= 8, test.output


def test_stack_mock_tests(checked_dirs, tested_stack):
    test = _by_command(checked_dirs[f"stacks/{tested_stack}"], "test")
    assert test.returncode == 0, test.output
    summary = re.search(r"Success! (\d+) passed, 0 failed\.", test.output)
    assert summary, test.output
    assert int(summary.group(1)) >= 5, test.output


VALIDATED = re.compile(r'variable "(\w+)" \{(?:(?!\nvariable ").)*?validation \{', re.DOTALL)


def test_every_validation_has_an_expect_failures_run(repo_root, module):
    """Each `validation` block of a module has an `expect_failures` run naming its variable."""
    folder = repo_root / "infra" / "modules" / module
    validated = set(VALIDATED.findall((folder / "variables.tf").read_text(encoding="utf-8")))
    tests = "".join(p.read_text(encoding="utf-8") for p in (folder / "tests").glob("*.tftest.hcl"))
    expected = re.findall(r"expect_failures = \[([^\]]+)\]", tests)
    covered = {v.strip().removeprefix("var.") for e in expected for v in e.split(",")}
    assert validated, f"{module}: no validated variables found"
    missing = validated - covered
    assert not missing, f"{module}: validations without an expect_failures run: {sorted(missing)}"
