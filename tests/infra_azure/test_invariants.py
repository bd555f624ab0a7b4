"""The guarantees the AWS side tests, held by the Azure code: encryption, private access, zones,
least-privilege identities without secrets, and tags on everything that takes them."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

from infra_azure.conftest import AZURE, ENVIRONMENTS, block, literal, one

from test_app_tooling.infra.hcl_check import parse
from test_app_tooling.tools import REPO


def _variable_default(module: str, name: str) -> object:
    for group in parse(AZURE / "modules" / module / "variables.tf")["variable"]:
        for label, body in group.items():
            if literal(label) == name:
                return body.get("default")
    raise AssertionError(f"{module} has no variable {name}")


################################################################################
# Tags
################################################################################


def test_every_taggable_resource_sets_tags(decls, azurerm_schema):
    resources = [d for d in decls if d.kind == "resource" and d.type.startswith("azurerm_")]
    taggable = [d for d in resources if "tags" in azurerm_schema.resources[d.type].arguments]
    assert len(taggable) >= 25
    untagged = [d.address for d in taggable if "tags" not in d.body]
    assert not untagged, untagged


def test_every_stack_tags_with_project_environment_stack_and_owner():
    for stack in (AZURE / "stacks").iterdir():
        providers = (stack / "providers.tf").read_text(encoding="utf-8")
        assert f'Stack = "{stack.name}"' in providers, stack.name
        for path in stack.glob("*.tf"):
            for group in parse(path).get("module", []):
                for name, body in group.items():
                    assert body.get("tags") == "${local.tags}", f"{path}: module {name}"
    common = parse(AZURE / "stacks" / "network" / "common_variables.tf")["locals"][0]
    tags = json.dumps(common["common_tags"])
    for key in ("Project", "Environment", "ManagedBy"):
        assert key in tags


################################################################################
# Encryption
################################################################################


def test_state_is_encrypted_versioned_and_reached_with_entra_id_only(decls):
    account = one(decls, "azurerm_storage_account").body
    assert account["infrastructure_encryption_enabled"] is True
    assert account["https_traffic_only_enabled"] is True
    assert literal(account["min_tls_version"]) == "TLS1_2"
    assert account["shared_access_key_enabled"] is False
    assert account["default_to_oauth_authentication"] is True
    assert account["allow_nested_items_to_be_public"] is False
    blobs = block(account, "blob_properties")
    assert blobs["versioning_enabled"] is True
    assert "delete_retention_policy" in blobs
    assert "container_delete_retention_policy" in blobs
    lock = one(decls, "azurerm_management_lock").body
    assert literal(lock["lock_level"]) == "CanNotDelete"


def test_nodes_encrypt_at_host(decls):
    cluster = one(decls, "azurerm_kubernetes_cluster").body
    pools = [
        block(cluster, "default_node_pool"),
        one(decls, "azurerm_kubernetes_cluster_node_pool", "user").body,
    ]
    for pool in pools:
        assert pool["host_encryption_enabled"] is True
        assert literal(pool["os_disk_type"]) == "Ephemeral"


def test_database_requires_tls_12_and_it_cannot_be_overridden():
    text = (AZURE / "modules" / "postgresql-flexible" / "main.tf").read_text(encoding="utf-8")
    merge = text.split("server_parameters = merge(", 1)[1].split("\n  )\n", 1)[0]
    enforced = merge.rsplit("var.server_parameters,", 1)
    assert len(enforced) == 2, "var.server_parameters must be merged before the TLS settings"
    assert re.search(r'require_secure_transport\s*=\s*"on"', enforced[1])
    assert re.search(r'ssl_min_protocol_version\s*=\s*"TLSv1\.2"', enforced[1])


def _stack_variable_default(stack: str, name: str) -> object:
    for group in parse(AZURE / "stacks" / stack / "variables.tf")["variable"]:
        for label, body in group.items():
            if literal(label) == name:
                return literal(body.get("default"))
    raise AssertionError(f"stack {stack} has no variable {name}")


def _ephemeral(stack: str, type_: str, name: str) -> dict[str, Any]:
    for group in parse(AZURE / "stacks" / stack / "main.tf").get("ephemeral", []):
        for type_label, named in group.items():
            for label, body in named.items():
                if literal(type_label) == type_ and literal(label) == name:
                    found: dict[str, Any] = body
                    return found
    raise AssertionError(f"stack {stack} has no ephemeral {type_}.{name}")


def test_the_app_never_logs_in_as_the_server_administrator(decls):
    """Two Key Vault secrets: the administrator's, read only by the chart's db-role hook and the
    rotation, and the app role's, with its own login and password (the least-privilege role of
    ADR 0015)."""
    stack = parse(AZURE / "stacks" / "database" / "main.tf")
    [server] = [
        body
        for group in stack["module"]
        for name, body in group.items()
        if literal(name) == "postgresql"
    ]
    assert server["administrator_login"] == "${var.administrator_login}"
    assert server["administrator_password"] == "${ephemeral.random_password.administrator.result}"
    admin_login = _stack_variable_default("database", "administrator_login")
    app_login = _stack_variable_default("database", "app_role_name")
    assert admin_login != app_login
    assert _variable_default("postgresql-flexible", "administrator_login") != app_login

    admin = one(decls, "azapi_resource", "administrator_secret", folder="database").body
    admin_value = str(admin["sensitive_body"]["properties"]["value"])
    app = one(decls, "azurerm_key_vault_secret", "database", folder="database").body
    app_value = str(app["value"])
    assert literal(admin["name"]) == "${local.name}-database-admin"
    assert literal(app["name"]) == "${local.name}-database"
    assert "var.administrator_login" in admin_value
    assert "ephemeral.random_password.administrator.result" in admin_value
    assert "var.app_role_name" in app_value
    assert "random_password.app.result" in app_value
    assert "administrator" not in app_value


def test_the_administrator_password_never_reaches_the_state(decls):
    """Whoever reads the state (the plan identity holds the state container) must not learn the
    administrator's password: it is ephemeral, and only write-only arguments take it."""
    assert not [d for d in decls if d.type == "random_password" and d.name == "administrator"]
    _ephemeral("database", "random_password", "administrator")
    server = one(decls, "azurerm_postgresql_flexible_server", folder="postgresql-flexible").body
    assert "administrator_password" not in server
    assert server["administrator_password_wo"] == "${var.administrator_password}"
    assert server["administrator_password_wo_version"] == "${var.administrator_password_version}"
    variables = parse(AZURE / "modules" / "postgresql-flexible" / "variables.tf")["variable"]
    [password] = [
        b for g in variables for k, b in g.items() if literal(k) == "administrator_password"
    ]
    assert password.get("ephemeral") is True
    admin = one(decls, "azapi_resource", "administrator_secret", folder="database").body
    assert str(literal(admin["type"])).startswith("Microsoft.KeyVault/vaults/secrets@")
    assert "value" not in admin["body"]["properties"], "body is stored in the state"
    # A new value whenever the server is created anew (new version, or a replacing argument),
    # and only after the server exists.
    version = admin["sensitive_body_version"]['"properties.value"']
    for replaces in (
        "var.administrator_password_version",
        "var.administrator_login",
        "var.geo_redundant_backup_enabled",
        "data.azurerm_subnet.database.id",
    ):
        assert replaces in version, f"the admin secret is not rewritten when {replaces} changes"
    assert admin["depends_on"] == ["${module.postgresql}"]
    # No other resource of the stack carries the administrator's password.
    text = (AZURE / "stacks" / "database" / "main.tf").read_text(encoding="utf-8")
    uses = re.findall(r"[\w.]*random_password\.administrator\.result", text)
    assert uses == ["ephemeral.random_password.administrator.result"] * 2


def test_vault_keeps_deleted_secrets(decls):
    vault = one(decls, "azurerm_key_vault").body
    assert vault["purge_protection_enabled"] is True
    assert vault["rbac_authorization_enabled"] is True
    assert _variable_default("key-vault", "soft_delete_retention_days") == 90


################################################################################
# Private access
################################################################################


def test_database_has_no_public_endpoint(decls):
    servers = [d for d in decls if d.type == "azurerm_postgresql_flexible_server"]
    assert {d.name for d in servers} == {"this", "replica"}
    for server in servers:
        assert server.body["public_network_access_enabled"] is False, server.address
        assert server.body["delegated_subnet_id"] == "${var.delegated_subnet_id}", server.address
    subnet = one(decls, "azurerm_subnet", "database").body
    delegation = block(block(subnet, "delegation"), "service_delegation")
    assert literal(delegation["name"]) == "Microsoft.DBforPostgreSQL/flexibleServers"


def test_vault_is_reached_through_a_private_endpoint(decls):
    vault = one(decls, "azurerm_key_vault").body
    assert literal(block(vault, "network_acls")["default_action"]) == "Deny"
    endpoint = one(decls, "azurerm_private_endpoint").body
    connection = block(endpoint, "private_service_connection")
    assert connection["private_connection_resource_id"] == "${azurerm_key_vault.this[0].id}"
    assert connection["subresource_names"] == ['"vault"']
    zone = one(decls, "azurerm_private_dns_zone", folder="key-vault").body
    assert literal(zone["name"]) == "privatelink.vaultcore.azure.net"


def test_state_denies_every_address_but_the_listed_ones(decls):
    account = one(decls, "azurerm_storage_account").body
    assert literal(block(account, "network_rules")["default_action"]) == "Deny"


def test_nodes_have_no_public_addresses_and_leave_through_the_nat_gateway(decls):
    cluster = one(decls, "azurerm_kubernetes_cluster").body
    assert block(cluster, "default_node_pool")["node_public_ip_enabled"] is False
    pool = one(decls, "azurerm_kubernetes_cluster_node_pool", "user").body
    assert pool["node_public_ip_enabled"] is False
    assert literal(block(cluster, "network_profile")["outbound_type"]) == "userAssignedNATGateway"
    subnets = [d for d in decls if d.kind == "resource" and d.type == "azurerm_subnet"]
    assert len(subnets) == 3
    for subnet in subnets:
        assert subnet.body["default_outbound_access_enabled"] is False, subnet.address
    one(decls, "azurerm_subnet_nat_gateway_association", "nodes")


def test_network_policies_are_enforced(decls):
    profile = block(one(decls, "azurerm_kubernetes_cluster").body, "network_profile")
    assert literal(profile["network_plugin"]) == "azure"
    assert literal(profile["network_plugin_mode"]) == "overlay"
    assert literal(profile["network_policy"]) == "cilium"


################################################################################
# Zones
################################################################################


def test_cluster_spans_three_zones_with_one_user_pool_per_zone(decls):
    assert _variable_default("aks", "zones") == ['"1"', '"2"', '"3"'] or _variable_default(
        "aks", "zones"
    ) == ["1", "2", "3"]
    cluster = one(decls, "azurerm_kubernetes_cluster").body
    system = block(cluster, "default_node_pool")
    assert system["zones"] == "${var.zones}"
    assert system["auto_scaling_enabled"] is True
    assert system["only_critical_addons_enabled"] is True
    pool = one(decls, "azurerm_kubernetes_cluster_node_pool", "user").body
    assert pool["for_each"] == "${local.create ? toset(var.zones) : toset([])}"
    assert pool["zones"] == ["${each.key}"]
    assert pool["auto_scaling_enabled"] is True
    assert block(cluster, "auto_scaler_profile")["balance_similar_node_groups"] is True


def test_database_is_zone_redundant_with_replicas_in_other_zones(decls):
    server = one(decls, "azurerm_postgresql_flexible_server").body
    assert literal(block(server, "high_availability")["mode"]) == "ZoneRedundant"
    variables = (AZURE / "modules" / "postgresql-flexible" / "variables.tf").read_text()
    assert "var.standby_zone != var.primary_zone" in variables
    for env in ENVIRONMENTS:
        database = parse(AZURE / "envs" / env / "database.tfvars")
        zones = [literal(z) for z in database["replica_zones"]]
        assert zones, env
        assert "1" not in zones, f"{env}: a replica shares the primary's zone"


def test_registry_and_state_are_zone_redundant():
    assert _variable_default("acr", "zone_redundancy_enabled") is True
    assert literal(_variable_default("state-storage", "replication_type")) == "GZRS"
    variables = (AZURE / "modules" / "state-storage" / "variables.tf").read_text()
    allowed = re.search(r"contains\(\[([^\]]*)\], var\.replication_type\)", variables)
    assert allowed
    assert all("ZRS" in v for v in re.findall(r'"(\w+)"', allowed.group(1)))


################################################################################
# Least privilege, no secrets
################################################################################

# Every role each pipeline identity gets, and where. Adding one is a reviewed change here.
PIPELINE_ROLES = {
    "push": {("data.azurerm_container_registry.this.id", "AcrPush")},
    "deploy": {
        ("data.azurerm_kubernetes_cluster.this.id", "Azure Kubernetes Service Cluster User Role"),
        ("data.azurerm_container_registry.this.id", "AcrPull"),
        (
            '"${data.azurerm_kubernetes_cluster.this.id}/namespaces/${ns}"',
            "Azure Kubernetes Service RBAC Writer",
        ),
    },
    "plan": {
        ("id", "Reader"),
        ("local.state_container_id", "Reader"),
        (
            '"${data.azurerm_subscription.current.id}/resourceGroups/${local.name}-cluster"',
            "Azure Kubernetes Service Cluster User Role",
        ),
        ("local.state_container_id", "Storage Blob Data Contributor"),
        (
            '"${data.azurerm_key_vault.this.id}/secrets/${local.name}-database"',
            "Key Vault Secrets User",
        ),
    },
    "apply": {
        ("id", "Contributor"),
        ("id", "Role Based Access Control Administrator"),
        ("local.state_container_id", "Storage Blob Data Contributor"),
        ("data.azurerm_key_vault.this.id", "Key Vault Secrets Officer"),
    },
}


def _assignments(value: Any) -> set[tuple[str, str]]:
    if isinstance(value, list):
        return {
            (
                v["scope"].removeprefix("${").removesuffix("}"),
                str(literal(v["role_definition_name"])),
            )
            for v in value
        }
    pairs = re.findall(r'scope = ("[^"]*"|[\w.\[\]]+), role_definition_name = \\?"([^"\\]+)', value)
    return set(pairs)


def _pipeline_identities() -> dict[str, Any]:
    ci = parse(AZURE / "stacks" / "ci" / "main.tf")
    module = ci["module"][0]['"github_oidc"']
    identities: dict[str, Any] = module["identities"]
    return identities


def test_pipeline_identities_have_exactly_the_listed_roles():
    identities = _pipeline_identities()
    assert set(identities) == set(PIPELINE_ROLES)
    for role, identity in identities.items():
        got = {
            (scope.replace('\\"', '"'), name)
            for scope, name in _assignments(identity["role_assignments"])
        }
        assert got == PIPELINE_ROLES[role], role


# The data actions of the built-in roles the pipeline identities hold, from
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles (Security, Storage,
# General). A role missing here fails the check below rather than passing unexamined.
ROLE_DATA_ACTIONS = {
    "Reader": [],
    "Contributor": [],
    "Role Based Access Control Administrator": [],
    "Azure Kubernetes Service Cluster User Role": [],  # actions only: listClusterUserCredential
    "Storage Blob Data Contributor": [
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    ],
    "Key Vault Reader": [
        "Microsoft.KeyVault/vaults/*/read",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ],
    "Key Vault Secrets User": [
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ],
    "Key Vault Secrets Officer": ["Microsoft.KeyVault/vaults/secrets/*"],
    "Key Vault Administrator": ["Microsoft.KeyVault/vaults/*"],
}
READ_SECRET_VALUE = "Microsoft.KeyVault/vaults/secrets/getSecret/action"


def _covers(scope: str, secret_name: str) -> bool:
    """Does a role assignment at `scope` (an expression of the ci stack) reach the vault secret
    `secret_name`? The vault and every resource group of the environment contain it."""
    if scope in {"data.azurerm_key_vault.this.id", "id"}:  # `id`: the resource group loop
        return True
    secret = re.search(r"/secrets/(.+)\"$", scope)
    return secret is not None and secret.group(1) == secret_name


def _reads_secret_values(identity: dict[str, Any], secret_name: str) -> list[str]:
    found = []
    for raw, role in _assignments(identity["role_assignments"]):
        scope = raw.replace('\\"', '"')
        assert role in ROLE_DATA_ACTIONS, f"no data actions listed for the role {role!r}"
        if _covers(scope, secret_name) and any(
            fnmatch.fnmatchcase(READ_SECRET_VALUE, action) for action in ROLE_DATA_ACTIONS[role]
        ):
            found.append(f"{role} at {scope}")
    return found


def test_the_plan_identity_cannot_read_the_administrators_password():
    """Pull requests plan with this identity: it may read metadata, never the administrator's
    secret value (neither on the vault nor on that secret)."""
    admin = "${local.name}-database-admin"
    assert _reads_secret_values(_pipeline_identities()["plan"], admin) == []
    # The check sees a grant that reaches it: the apply identity writes secrets on the vault.
    assert _reads_secret_values(_pipeline_identities()["apply"], admin) == [
        "Key Vault Secrets Officer at data.azurerm_key_vault.this.id"
    ]


def test_broad_roles_only_on_the_environments_resource_groups():
    ci = parse(AZURE / "stacks" / "ci" / "main.tf")
    groups = ci["locals"][0]["resource_group_ids"]
    assert "/resourceGroups/${local.name}-${stack}" in groups
    everywhere = "\n".join(p.read_text(encoding="utf-8") for p in AZURE.rglob("*.tf"))
    assert not re.search(
        r'role_definition_name\s*=\s*"(Owner|User Access Administrator)"', everywhere
    )
    oidc = (AZURE / "modules" / "github-oidc" / "variables.tf").read_text(encoding="utf-8")
    assert '"Owner", "Contributor", "User Access Administrator"' in oidc
    assert "^/subscriptions/[^/]+$" in oidc


def test_pipeline_trusts_only_github_subjects_without_wildcards(decls):
    credential = one(decls, "azurerm_federated_identity_credential").body
    assert literal(credential["issuer"]) == "https://token.actions.githubusercontent.com"
    assert credential["audience"] == ['"api://AzureADTokenExchange"']
    assert literal(credential["subject"]) == "repo:${var.github_repository}:${each.value.subject}"
    subjects = []
    for identity in _pipeline_identities().values():
        subjects += identity["subjects"] if isinstance(identity["subjects"], list) else []
    for env in ENVIRONMENTS:
        subjects += parse(AZURE / "envs" / env / "ci.tfvars")["push_subjects"]
    assert subjects
    assert not [s for s in subjects if "*" in s], "federated credentials match subjects exactly"


def test_no_passwords_or_keys_for_people_or_pipelines(decls):
    everywhere = "\n".join(p.read_text(encoding="utf-8") for p in AZURE.rglob("*.tf"))
    assert "client_secret" not in everywhere
    assert not [d for d in decls if d.type.startswith("azuread_")]
    cluster = one(decls, "azurerm_kubernetes_cluster").body
    assert cluster["local_account_disabled"] is True
    rbac = block(cluster, "azure_active_directory_role_based_access_control")
    assert rbac["azure_rbac_enabled"] is True
    assert cluster["workload_identity_enabled"] is True
    assert cluster["oidc_issuer_enabled"] is True
    registry = one(decls, "azurerm_container_registry").body
    assert registry["admin_enabled"] is False
    assert registry["anonymous_pull_enabled"] is False


def test_workloads_read_secrets_only(decls):
    reader = one(decls, "azurerm_role_assignment", "secrets_user").body
    assert literal(reader["role_definition_name"]) == "Key Vault Secrets User"
    assert reader["scope"] == "${azurerm_key_vault.this[0].id}"
    pull = one(decls, "azurerm_role_assignment", "acr_pull").body
    assert literal(pull["role_definition_name"]) == "AcrPull"


################################################################################
# Maintenance windows
################################################################################

DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
WEEK = 7 * 24 * 60


def _aks_window(cluster: dict[str, Any], name: str) -> tuple[str, int, int]:
    window = block(cluster, name)
    assert literal(window["frequency"]) == "Weekly"
    assert literal(window["utc_offset"]) == "+00:00"
    hour, minute = map(int, str(literal(window["start_time"])).split(":"))
    start = DAYS.index(str(literal(window["day_of_week"]))) * 1440 + hour * 60 + minute
    return name, start, int(window["duration"]) * 60


def _overlap(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    """Whether two weekly windows (start minute of the week, length) share a minute."""
    return any(
        a[1] + shift < b[1] + b[2] and b[1] < a[1] + shift + a[2] for shift in (-WEEK, 0, WEEK)
    )


def test_maintenance_windows_never_overlap(decls):
    cluster = one(decls, "azurerm_kubernetes_cluster").body
    server = block(one(decls, "azurerm_postgresql_flexible_server").body, "maintenance_window")
    # PostgreSQL's custom window: day_of_week 0 is Sunday; Azure uses one hour from the start.
    database = (
        "postgresql",
        int(server["day_of_week"]) * 1440
        + int(server["start_hour"]) * 60
        + int(server["start_minute"]),
        60,
    )
    windows = [
        _aks_window(cluster, "maintenance_window_auto_upgrade"),
        _aks_window(cluster, "maintenance_window_node_os"),
        database,
    ]
    clashes = [
        (a[0], b[0]) for i, a in enumerate(windows) for b in windows[i + 1 :] if _overlap(a, b)
    ]
    assert not clashes, f"maintenance windows overlap: {clashes}"


def test_the_overlap_check_sees_a_clash():
    assert _overlap(("aks", 2 * 1440 + 180, 240), ("pg", 2 * 1440 + 180, 60))
    assert _overlap(("a", WEEK - 30, 60), ("b", 0, 10))  # across Saturday midnight
    assert not _overlap(("aks", 2 * 1440 + 180, 240), ("pg", 180, 60))


################################################################################
# What a later apply must not undo or break
################################################################################


def test_the_app_login_belongs_to_the_rotation_after_the_first_apply(decls):
    secret = one(decls, "azurerm_key_vault_secret", "database", folder="database").body
    ignored = [
        str(literal(x)).removeprefix("${").removesuffix("}")
        for x in block(secret, "lifecycle")["ignore_changes"]
    ]
    assert ignored == ["value"]
    app = one(decls, "random_password", "app", folder="database").body
    assert app["keepers"] == {"role": "${var.app_role_name}"}


def test_the_rotation_identity_holds_only_its_two_secrets(decls):
    """The chart's rotation CronJob (ServiceAccount `<fullname>-rotation` in the release's
    namespace) signs in as the cluster stack's `rotation` identity; it writes the app's login and
    reads the administrator's, each right scoped to that one secret, never the whole vault."""
    cluster = parse(AZURE / "stacks" / "cluster" / "main.tf")
    aks = next(m['"aks"'] for m in cluster["module"] if '"aks"' in m)
    rotation = aks["workload_identities"].get("rotation")
    assert rotation is not None, "the cluster stack makes no workload identity `rotation`"
    assert rotation == {
        "namespace": "${var.app_namespace}",
        "service_account": "${var.rotation_service_account}",
    }
    assert _stack_variable_default("cluster", "app_namespace") == "test-app"
    assert _stack_variable_default("cluster", "rotation_service_account") == "test-app-rotation"
    chart = REPO / "charts" / "test-app" / "templates" / "rotation-cronjob.yaml"
    assert "kind: ServiceAccount\nmetadata:\n  name: {{ $fullname }}-rotation" in chart.read_text(
        encoding="utf-8"
    )
    outputs = parse(AZURE / "stacks" / "cluster" / "outputs.tf")["output"]
    values = {literal(k): v["value"] for o in outputs for k, v in o.items()}
    assert values.get("rotation_client_id") == (
        '${module.aks.workload_identity_client_ids["rotation"]}'
    )

    found = [
        d.body
        for d in decls
        if d.kind == "data" and d.type == "azurerm_user_assigned_identity" and d.name == "rotation"
    ]
    assert len(found) == 1, "the database stack looks up the rotation identity by name once"
    assert found[0] == {
        "name": '"${local.name}-rotation"',
        "resource_group_name": '"${local.name}-cluster"',
        "__is_block__": True,
    }
    granted = {
        (str(d.body["scope"]), str(literal(d.body["role_definition_name"])))
        for d in decls
        if d.type == "azurerm_role_assignment"
        and "azurerm_user_assigned_identity.rotation" in str(d.body.get("principal_id"))
    }
    assert granted == {
        (
            "${azurerm_key_vault_secret.database.resource_versionless_id}",
            "Key Vault Secrets Officer",
        ),
        ("${azapi_resource.administrator_secret.id}", "Key Vault Secrets User"),
    }


def test_generated_passwords_hold_every_character_class(decls):
    bodies = {
        "administrator": _ephemeral("database", "random_password", "administrator"),
        "app": one(decls, "random_password", "app", folder="database").body,
    }
    for name, body in bodies.items():
        for key in ("min_upper", "min_lower", "min_numeric"):
            assert body.get(key, 0) >= 1, f"random_password.{name}: {key}"


def test_app_routing_key_vault_integration_is_declared(decls):
    cluster = one(decls, "azurerm_kubernetes_cluster").body
    assert block(cluster, "key_vault_secrets_provider")["secret_rotation_enabled"] is True
    main = (AZURE / "stacks" / "cluster" / "main.tf").read_text(encoding="utf-8")
    assert "app-routing = module.aks.app_routing_principal_id" in main


def test_operators_may_import_the_tls_certificate(decls):
    role = one(decls, "azurerm_role_assignment", "certificates_officer", folder="key-vault").body
    assert literal(role["role_definition_name"]) == "Key Vault Certificates Officer"
    main = (AZURE / "stacks" / "cluster" / "main.tf").read_text(encoding="utf-8")
    assert "certificate_officer_principal_ids = var.key_vault_secret_officer_object_ids" in main


def test_the_bootstrap_stack_never_needs_the_state_accounts_data_plane():
    provider = parse(AZURE / "stacks" / "bootstrap" / "providers.tf")["provider"][0]
    features = provider['"azurerm"']["features"][0]
    assert block(features, "storage")["data_plane_available"] is False


FORBIDDEN_ROLE_IDS = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # Owner
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # User Access Administrator
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",  # Role Based Access Control Administrator
    "b24988ac-6180-42a0-ab88-20f7382dd24c",  # Contributor
}


def test_the_apply_identity_assigns_only_the_roles_the_stacks_need(decls):
    ci = parse(AZURE / "stacks" / "ci" / "main.tf")
    roles = {literal(k): literal(v) for k, v in ci["locals"][0]["assignable_roles"].items()}
    assert not set(roles.values()) & FORBIDDEN_ROLE_IDS
    # Every role the environment stacks and their modules assign (bootstrap and ci run by hand).
    assigned = {
        str(literal(d.body["role_definition_name"]))
        for d in decls
        if d.type == "azurerm_role_assignment"
        and not {"bootstrap", "ci", "github-oidc"} & set(d.path.parts)
        and "${" not in str(d.body.get("role_definition_name"))
    }
    assert len(assigned) >= 5
    assert assigned <= set(roles), (
        f"roles the apply identity could not assign: {assigned - set(roles)}"
    )
    text = (AZURE / "stacks" / "ci" / "main.tf").read_text(encoding="utf-8")
    assert re.search(
        r'"Role Based Access Control Administrator", condition = local\.role_assignment_condition',
        text,
    )


def test_cluster_vault_and_database_send_audit_logs_to_log_analytics(decls):
    settings = {
        str(d.body["target_resource_id"]): d.body
        for d in decls
        if d.type == "azurerm_monitor_diagnostic_setting"
    }
    for target in (
        "module.aks.cluster_id",
        "module.key_vault.key_vault_id",
        "module.postgresql.server_id",
    ):
        body = settings.get("${" + target + "}")
        assert body is not None, f"no diagnostic setting for {target}"
        assert "log_analytics_workspace_id" in body
        assert body.get("enabled_log"), target
