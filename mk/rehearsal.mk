# The local production rehearsal (rehearsal/, docs/rehearsal.md).
# Ports: REHEARSAL_PORT_BASE (default 15400) + fixed offsets; state: .state/rehearsal/.

REHEARSAL := $(PY) -m rehearsal

.PHONY: up down status rehearse rehearse-rollout rehearse-failover rehearse-outage rehearsal-clean
up: bootstrap ## Bring up the production topology on loopback (PostgreSQL pair, HAProxy, 3 apps, Prometheus)
	@$(REHEARSAL) up

down: ## Stop every process of the rehearsal and check that none is left
	@if [[ -x $(PY) ]]; then $(REHEARSAL) down; else echo "nothing to stop (no $(VENV))"; fi

status: ## Table of the rehearsal's components, ports and health
	@$(REHEARSAL) status

rehearse: up ## Run the three rehearsals (rollout, failover, outage); reports in docs/rehearsal/
	@$(REHEARSAL) rehearse rollout failover outage

rehearse-rollout: up ## Rolling update of the apps under load; report in docs/rehearsal/
	@$(REHEARSAL) rehearse rollout

rehearse-failover: up ## Writer failover: promote the standby, rebuild the old primary
	@$(REHEARSAL) rehearse failover

rehearse-outage: up ## Database outage: /health DOWN, alert pending/firing, recovery
	@$(REHEARSAL) rehearse outage

rehearsal-clean: down ## Stop the rehearsal and delete its state folder (databases, metrics)
	@$(REHEARSAL) down --purge
