import os

import pytest

from test_app.settings import DEFAULT_PASSWORD, ConfigError, Endpoint, load_settings


def test_defaults_match_the_original_program():
    settings = load_settings({})
    assert settings.port == 8080
    assert settings.writer == Endpoint("localhost", 5432)
    assert settings.reader == settings.writer
    assert settings.user == "postgres"
    assert settings.password == DEFAULT_PASSWORD == "mysecretpassword"
    assert settings.dbname == "postgres"
    assert settings.uses_default_password
    assert settings.workers == 1


def test_reader_defaults_to_the_writer_and_can_be_split():
    settings = load_settings({"POSTGRESQL_HOST": "db", "POSTGRESQL_PORT": "6432"})
    assert settings.reader == Endpoint("db", 6432)
    assert not settings.has_separate_reader
    split = load_settings({"POSTGRESQL_HOST": "db", "POSTGRESQL_READ_HOST": "db-ro"})
    assert split.reader == Endpoint("db-ro", 5432)
    assert split.has_separate_reader


def test_password_never_appears_in_repr():
    settings = load_settings({"POSTGRESQL_PASSWORD": "s3cr3t-value"})
    assert "s3cr3t-value" not in repr(settings)
    assert not settings.uses_default_password


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PORT", "abc", "expected an integer port between 1 and 65535"),
        ("PORT", "70000", "expected an integer port between 1 and 65535"),
        ("PORT", "0", "expected an integer port between 1 and 65535"),
        ("POSTGRESQL_HOST", "", "expected a non-empty host name"),
        ("POSTGRESQL_HOST", "   ", "expected a non-empty host name"),
        ("POSTGRESQL_HOST", "db..example.com", "expected a non-empty host name"),
        ("POSTGRESQL_HOST", "a" * 64 + ".example.com", "expected a non-empty host name"),
        ("POSTGRESQL_HOST", "d\u00e9j\u00e0.example.com", "expected a non-empty host name"),
        ("POSTGRESQL_HOST", "-db.example.com", "expected a non-empty host name"),
        ("POSTGRESQL_READ_HOST", "x" * 254, "expected a non-empty host name"),
        ("POSTGRESQL_PORT", "-1", "expected an integer port"),
        ("POOL_MAX_SIZE", "-3", "expected an integer between 1 and 100"),
        ("POOL_MIN_SIZE", "-1", "expected an integer between 0 and 100"),
        ("WORKERS", "0", "expected an integer between 1 and 64"),
        ("DRAIN_SECONDS", "soon", "expected seconds between 0 and 300"),
        ("POSTGRESQL_SSLMODE", "maybe", "expected one of"),
        ("ACCESS_LOG", "yes", "expected true, false, 1 or 0"),
        ("LOG_LEVEL", "loud", "expected one of"),
        ("PORT", "18_081", "expected an integer port between 1 and 65535"),
        ("PORT", "\u0661\u0668\u0660\u0668\u0661", "expected an integer port between 1 and 65535"),
        ("WORKERS", "+2", "expected an integer between 1 and 64"),
        ("HOST", "not-an-address", "expected an IPv4 or IPv6 address"),
        ("HOST", "localhost", "expected an IPv4 or IPv6 address"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, proxy", "expected comma-separated CIDRs"),
    ],
)
def test_bad_values_name_the_variable_the_value_and_the_expectation(name, value, expected):
    with pytest.raises(ConfigError) as info:
        load_settings({name: value})
    (problem,) = info.value.problems
    assert problem.startswith(f"{name}={value!r}: ")
    assert expected in problem


@pytest.mark.parametrize(
    "host", ["db", "db.example.com.", "10.0.0.5", "::1", "/var/run/postgresql", "pg_primary"]
)
def test_database_hosts_take_names_addresses_and_socket_folders(host):
    assert load_settings({"POSTGRESQL_HOST": host}).writer.host == host


def test_kubernetes_service_link_is_explained():
    with pytest.raises(ConfigError) as info:
        load_settings({"POSTGRESQL_PORT": "tcp://10.0.0.1:5432"})
    (problem,) = info.value.problems
    assert "POSTGRESQL_PORT='tcp://10.0.0.1:5432'" in problem
    assert "Kubernetes service link" in problem
    assert "enableServiceLinks: false" in problem


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        load_settings({"PORT": "x", "WORKERS": "-1", "POOL_MIN_SIZE": "9", "POOL_MAX_SIZE": "2"})
    problems = info.value.problems
    assert len(problems) == 3
    assert any("POOL_MIN_SIZE=9 is larger than POOL_MAX_SIZE=2" in p for p in problems)


def test_password_file_is_read_without_its_trailing_newline(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n\n")
    settings = load_settings({"POSTGRESQL_PASSWORD_FILE": str(secret)})
    assert settings.password == "from-a-file"
    assert settings.password_file == str(secret)
    assert "from-a-file" not in repr(settings)
    assert load_settings({"POSTGRESQL_PASSWORD": "env"}).password_file is None


def test_a_fifo_or_a_huge_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nobody writes: reading it would wait for ever
    huge = tmp_path / "huge"
    huge.write_bytes(b"x" * (1024 * 1024))
    with pytest.raises(ConfigError) as err:
        load_settings({"POSTGRESQL_USER_FILE": str(fifo), "POSTGRESQL_PASSWORD_FILE": str(huge)})
    assert [problem.split(": expected ")[1] for problem in err.value.problems] == [
        "the path of a readable, non-empty file holding the user name (not a regular file)",
        (
            "the path of a readable, non-empty file holding the password "
            "(the file is larger than 65536 bytes)"
        ),
    ]


def test_password_and_password_file_together_are_refused(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("x")
    env = {"POSTGRESQL_PASSWORD": "y", "POSTGRESQL_PASSWORD_FILE": str(secret)}
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert err.value.problems == [
        "POSTGRESQL_PASSWORD and POSTGRESQL_PASSWORD_FILE are both set: expected only one"
    ]


@pytest.mark.parametrize(
    ("content", "hint"),
    [(None, "No such file or directory"), ("", "the file is empty"), ("\n", "the file is empty")],
)
def test_an_unusable_password_file_names_the_variable_and_the_cause(tmp_path, content, hint):
    secret = tmp_path / "password"
    if content is not None:
        secret.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_settings({"POSTGRESQL_PASSWORD_FILE": str(secret)})
    assert err.value.problems == [
        (
            f"POSTGRESQL_PASSWORD_FILE={str(secret)!r}: expected the path of a readable, "
            f"non-empty file holding the password ({hint})"
        )
    ]


def test_user_file_follows_the_same_rules(tmp_path):
    user = tmp_path / "user"
    user.write_text("app_clone\n")
    settings = load_settings({"POSTGRESQL_USER_FILE": str(user)})
    assert (settings.user, settings.user_file) == ("app_clone", str(user))
    with pytest.raises(ConfigError) as err:
        load_settings({"POSTGRESQL_USER": "app", "POSTGRESQL_USER_FILE": str(user)})
    assert err.value.problems == [
        "POSTGRESQL_USER and POSTGRESQL_USER_FILE are both set: expected only one"
    ]


def test_listen_address_and_trusted_proxies_are_parsed():
    settings = load_settings({"HOST": " ::1 ", "TRUSTED_PROXIES": "10.0.0.0/16, 192.0.2.7"})
    assert settings.host == "::1"
    assert [str(net) for net in settings.trusted_proxies] == ["10.0.0.0/16", "192.0.2.7/32"]
    assert load_settings({}).trusted_proxies == ()
