"""The local production rehearsal: the production topology on loopback, and rehearsals on it.

Layers, imports pointing down only:

- ``rehearsal.__main__``, ``rehearsal.rehearse``, ``rehearsal.status``: the command line.
- ``rehearsal.scenarios``: one module per rehearsal; each uses the two layers below, never
  another scenario.
- ``rehearsal.measure``: load, probes, reports and their sizes, shared by every scenario.
- ``rehearsal.base``: the topology itself: ports, configs, processes (supervisord), the
  PostgreSQL pair, the balancer, bringing it all up and down.
"""
