"""The azurerm provider schema, read offline from the prebuilt CDK Terrain bindings' jsii assembly.

PyPI's `cdktn-provider-azurerm` (the maintained fork of CDKTF's bindings, installed in
`.venvs/azurerm` from requirements/venv-azurerm.txt) ships
`_jsii/provider-azurerm@<version>.jsii.tgz`, whose
`package/.jsii` describes every resource and data source as a config struct: one property per
argument or nested block, `optional` unless Terraform requires it, and a docs link
`.../docs/<resources|data-sources>/<type>#<argument>` whose anchor is the Terraform name (the
property names themselves are camelCase). Nested blocks are properties whose type is another
struct. Nothing is cached: the assembly is read once per test session.
"""

from __future__ import annotations

import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from test_app_tooling.tools import REPO


PROVIDER_VERSION = "5.10.0"
# The azapi provider (database stack: the administrator's Key Vault secret through Azure Resource
# Manager), read from `cdktn-provider-azapi` in the same environment.
AZAPI_VERSION = "2.13.0"
PACKAGE_GLOB = "lib/python3*/site-packages/cdktn_provider_{provider}/_jsii/*.jsii.tgz"
DOC_LINK = re.compile(
    r"registry\.terraform\.io/providers/(?:hashicorp|azure)/(?:azurerm|azapi)/"
    r"(?P<version>[\d.]+)/docs/"
    r"(?P<kind>resources|data-sources)/(?P<type>\w+)#(?P<arg>\w+)"
)
META_STRUCTS = {"cdktf.TerraformMetaArguments", "cdktn.TerraformMetaArguments"}


@dataclass
class Block:
    """One resource, data source or nested block: its arguments and nested blocks."""

    # argument name -> required
    arguments: dict[str, bool] = field(default_factory=dict)
    # nested block name -> (required, its schema)
    blocks: dict[str, tuple[bool, Block]] = field(default_factory=dict)

    def required(self) -> set[str]:
        """Names of the required arguments and blocks."""
        return {n for n, r in self.arguments.items() if r} | {
            n for n, (r, _) in self.blocks.items() if r
        }


@dataclass
class Schema:
    """Every resource and data source of the provider, by Terraform type name."""

    version: str
    resources: dict[str, Block]
    data_sources: dict[str, Block]
    # The `provider "azurerm"` block itself (features, authentication settings).
    provider: Block = field(default_factory=Block)
    # The provider's name, the prefix of its types: `azurerm` or `azapi`.
    name: str = "azurerm"


def assembly_path(venv: Path | None = None, provider: str = "azurerm") -> Path:
    """The jsii tarball of the bindings of `provider` (`azurerm` or `azapi`).

    Raises when the environment is missing.
    """
    root = venv or REPO / ".venvs" / "azurerm"
    found = sorted(root.glob(PACKAGE_GLOB.format(provider=provider)))
    if len(found) != 1:
        msg = f"expected one {provider} jsii assembly under {root}, found {found}"
        msg += ": run scripts/bootstrap"
        raise FileNotFoundError(msg)
    return found[0]


def _doc_link(prop: dict[str, Any]) -> re.Match[str] | None:
    docs = prop.get("docs", {})
    return DOC_LINK.search(docs.get("summary", "") + " " + docs.get("remarks", ""))


def _struct_fqn(type_ref: dict[str, Any], types: dict[str, Any]) -> str | None:
    """The struct a property's type names (directly, in a list, or in a union), if any."""
    candidates = [type_ref]
    while candidates:
        ref = candidates.pop()
        fqn = ref.get("fqn")
        if fqn in types and types[fqn].get("datatype"):
            return str(fqn)
        if "collection" in ref:
            candidates.append(ref["collection"]["elementtype"])
        if "union" in ref:
            candidates.extend(ref["union"]["types"])
    return None


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _Builder:
    def __init__(self, types: dict[str, Any]) -> None:
        self.types = types
        self.cache: dict[str, Block] = {}

    def block(self, fqn: str) -> Block:
        if fqn in self.cache:
            return self.cache[fqn]
        block = Block()
        self.cache[fqn] = block
        for prop in self.types[fqn].get("properties", []):
            link = _doc_link(prop)
            name = link.group("arg") if link else _snake(prop["name"])
            required = not prop.get("optional", False)
            nested = _struct_fqn(prop["type"], self.types)
            if nested is None:
                block.arguments[name] = required
            else:
                block.blocks[name] = (required, self.block(nested))
        return block


def load_schema(path: Path | None = None, provider: str = "azurerm") -> Schema:
    """Parse the assembly of `provider` (`azurerm` or `azapi`).

    Resources and data sources come out by Terraform type name.
    """
    with tarfile.open(path or assembly_path(provider=provider)) as tar:
        member = tar.extractfile("package/.jsii")
        if member is None:
            msg = f"package/.jsii is missing from the {provider} assembly"
            raise FileNotFoundError(msg)
        assembly = json.load(member)
    types: dict[str, Any] = assembly["types"]
    builder = _Builder(types)
    resources: dict[str, Block] = {}
    data_sources: dict[str, Block] = {}
    versions: set[str] = set()
    for fqn, struct in types.items():
        if not META_STRUCTS & set(struct.get("interfaces", [])) or not struct.get("datatype"):
            continue
        links = [m for p in struct.get("properties", []) if (m := _doc_link(p))]
        if not links:
            continue
        versions.add(links[0].group("version"))
        target = resources if links[0].group("kind") == "resources" else data_sources
        target[f"{provider}_{links[0].group('type')}"] = builder.block(fqn)
    if len(versions) != 1:
        msg = f"expected one provider version in the assembly's doc links, found {versions}"
        raise ValueError(msg)
    config = f"{provider.capitalize()}ProviderConfig"
    found = next((f for f in types if f.endswith(f".provider.{config}")), None)
    if found is None:
        msg = f"the {provider} assembly has no provider config struct ({config})"
        raise ValueError(msg)
    return Schema(versions.pop(), resources, data_sources, builder.block(found), provider)
