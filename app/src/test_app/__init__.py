"""test-app: a tiny HTTP API whose `/health` pings PostgreSQL, built for production."""

from test_app.settings import ConfigError, Endpoint, Settings, load_settings


__all__ = ["ConfigError", "Endpoint", "Settings", "load_settings"]
