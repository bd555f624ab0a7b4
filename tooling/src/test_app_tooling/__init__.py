"""The project's own tooling: Helm rendering, PostgreSQL and app processes, tool lookup."""
