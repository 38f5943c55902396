"""Contract tests: the simulator against PVE's schema and real captured responses."""
