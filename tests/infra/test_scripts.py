"""The Terraform helper scripts: shellcheck of the wrapper and the stack runner, the wrapper's CLI
configuration (the runner's behaviour: test_stacks.py)."""

from __future__ import annotations

import os
import subprocess


def _run(cmd, env=None, cwd=None):
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, check=False, env=env, cwd=cwd
    )


def test_shell_scripts_pass_shellcheck(repo_root, tool):
    scripts = [repo_root / "scripts" / "terraform" / name for name in ("tf", "stacks")]
    proc = _run([tool("shellcheck"), *map(str, scripts)])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_wrapper_writes_a_filesystem_mirror_config(repo_root, tool, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    cache = tmp_path / "cache"
    env = dict(
        os.environ,
        TERRAFORM=tool("terraform"),
        TF_PROVIDER_MIRROR=str(mirror),
        TF_PROJECT_CACHE=str(cache),
        TF_CLI_CONFIG_FILE=str(tmp_path / "missing.rc"),
    )
    proc = _run([str(repo_root / "scripts" / "terraform" / "tf"), "version"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Terraform v1." in proc.stdout
    config = (cache / "terraformrc").read_text()
    assert f'path    = "{mirror}"' in config
    assert f'plugin_cache_dir = "{cache}/plugins"' in config
    assert 'exclude = ["registry.terraform.io/hashicorp/*"]' in config
    assert (cache / "plugins").is_dir()


def test_wrapper_rejects_a_mirror_without_registry_folder(repo_root, tool, tmp_path):
    env = dict(
        os.environ,
        TERRAFORM=tool("terraform"),
        TF_PROVIDER_MIRROR=str(tmp_path),
        TF_PROJECT_CACHE=str(tmp_path / "cache"),
    )
    proc = _run([str(repo_root / "scripts" / "terraform" / "tf"), "version"], env=env)
    assert proc.returncode == 2
    assert "TF_PROVIDER_MIRROR" in proc.stderr
    assert "registry.terraform.io" in proc.stderr
