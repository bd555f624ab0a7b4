"""The local production rehearsal: the production topology on one machine, with real parts."""
