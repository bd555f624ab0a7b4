"""The chart README's parameters table is current and covers every value (readme-generator)."""

from __future__ import annotations

import re

import yaml

from test_app_tooling.chart_readme import CHART, README, annotate, render


def leaves(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict) and value:
        return {leaf for key, child in value.items() for leaf in leaves(child, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def test_the_readme_is_what_the_generator_writes():
    assert README.read_text(encoding="utf-8") == render(), "run `make chart-readme`"


def test_every_value_is_a_row_of_the_table():
    values = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    rows = set(re.findall(r"^\| `([^`]+)`", README.read_text(encoding="utf-8"), re.MULTILINE))
    wanted = leaves(values)
    assert len(wanted) > 100, "too few values to be the chart's"
    # A list of mappings is one row per item key (`policies[0].type`).
    missing = {v for v in wanted if v not in rows and not any(r.startswith(v + "[") for r in rows)}
    assert missing == set()


def test_the_comments_become_descriptions_and_lists_one_row_per_item_key():
    text = (
        "## The image.\n"
        "image:\n"
        "  ## Registry host;\n"
        "  ## empty: ECR.\n"
        '  registry: ""\n'
        "  tag: x\n"
        "\n"
        "policies:\n"
        "  - type: Pods\n"
        "    value: 1\n"
    )
    annotated = annotate(text)
    assert "  ## @param image.registry Registry host; empty: ECR.\n" in annotated
    assert "  ## @param image.tag Registry host; empty: ECR.\n" in annotated  # same group
    assert "## @param policies[0].type \n" not in annotated
    assert "## @param policies[0].type\n## @param policies[0].value\n" in annotated
    assert "## @section `image`\n" in annotated
