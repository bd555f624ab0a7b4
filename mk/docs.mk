# Documentation (docs/): diagrams as code, the scaling table, and the docs checks.
# The PNGs and the table are generated and committed; `make docs-check` fails when they are stale.

.PHONY: docs-diagrams
docs-diagrams: bootstrap ## Regenerate docs/diagrams/*.png from scripts/draw_diagrams.py (graphviz)
	$(PY) scripts/draw_diagrams.py

.PHONY: scaling-table
scaling-table: ## Regenerate the scaling table in docs/scaling.md from docs/benchmarks/pod.json and health.json
	$(PY) scripts/scaling_table.py --write

.PHONY: docs-mermaid
docs-mermaid: bootstrap ## Render the Mermaid diagrams of README.md, docs/architecture.md, docs/rehearsal.md (mermaid-cli, chromium)
	$(PY) -m test_app_tooling.mermaid

.PHONY: docs-check
docs-check: ## Diagrams and scaling table current, links and anchors, commands, ADR index
	$(PY) scripts/draw_diagrams.py --check
	$(PY) scripts/scaling_table.py --check
	$(PYTEST) tests/docs $(PYTEST_ARGS)

.PHONY: import-graph
import-graph: ## Print the import graph of the repository's Python and its cycles (IMPORT_GRAPH_ARGS=--dot)
	$(PY) -m test_app_tooling.import_graph $(IMPORT_GRAPH_ARGS)
