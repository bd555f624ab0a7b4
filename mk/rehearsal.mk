# The local production rehearsal (rehearsal/, docs/rehearsal.md).
# Ports: REHEARSAL_PORT_BASE (default 15400) + fixed offsets; state: .state/rehearsal/.

REHEARSAL := $(PY) -m rehearsal

.PHONY: up down status rehearse rehearse-rollout rehearse-failover rehearse-crash-primary \
	rehearse-kill-instance rehearse-rotate rehearse-freeze-primary rehearse-partition-primary \
	rehearse-dcs-loss rehearse-wal-full rehearse-canary rehearse-outage rehearsal-clean
up: bootstrap ## Bring up the production topology on loopback (Patroni pair on three etcd, HAProxy, 3 apps, Prometheus)
	@$(REHEARSAL) up

down: ## Stop every process of the rehearsal and check that none is left
	@if [[ -x $(PY) ]]; then $(REHEARSAL) down; else echo "nothing to stop (no $(VENV))"; fi

status: ## Table of the rehearsal's components, ports and health
	@$(REHEARSAL) status

rehearse: up ## Run every rehearsal (rollout, failover, crash-primary, kill-instance, rotate, freeze-primary, partition-primary, dcs-loss, wal-full, canary, outage); reports in docs/rehearsal/
	@$(REHEARSAL) rehearse

rehearse-rollout: up ## Rolling update of the apps under load; report in docs/rehearsal/
	@$(REHEARSAL) rehearse rollout

rehearse-failover: up ## Writer failover: stop the primary's node, Patroni promotes the standby
	@$(REHEARSAL) rehearse failover

rehearse-crash-primary: up ## kill -9 of the primary's postmaster under load: automatic promotion, pg_rewind
	@$(REHEARSAL) rehearse crash-primary

rehearse-kill-instance: up ## SIGKILL of an app instance under load: replaced, no failed request
	@$(REHEARSAL) rehearse kill-instance

rehearse-rotate: up ## The rotation function's multi-user steps (moto, TLS verify-full) under load, then failing ones: the login-age alert fires
	@$(REHEARSAL) rehearse rotate

rehearse-freeze-primary: up ## SIGSTOP of the whole primary node past ttl, with a writer counting rows: 0 acknowledged lost
	@$(REHEARSAL) rehearse freeze-primary

rehearse-partition-primary: up ## The primary's node cut off (network namespace link down) past ttl: 0 acknowledged rows lost
	@$(REHEARSAL) rehearse partition-primary

rehearse-dcs-loss: up ## One etcd member killed, then a majority hung: 0 failed requests (failsafe_mode)
	@$(REHEARSAL) rehearse dcs-loss

rehearse-wal-full: up ## The primary's WAL volume full: failover, an alert within 2 min, back once space is freed; 0 rows lost
	@$(REHEARSAL) rehearse wal-full

rehearse-outage: up ## Database outage: /health DOWN, alert pending/firing, recovery
	@$(REHEARSAL) rehearse outage

rehearse-canary: up ## Canary releases (good: promoted; bad: aborted by the chart's SLO analysis) vs a rolling update
	@$(REHEARSAL) rehearse canary

rehearsal-clean: down ## Stop the rehearsal and delete its state folder (databases, metrics)
	@$(REHEARSAL) down --purge
