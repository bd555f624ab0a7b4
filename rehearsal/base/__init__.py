"""The topology: ports, generated configs, supervised processes, PostgreSQL, the balancer."""
