"""Pure domain code: models, UPIDs, privilege maths. No I/O, no third-party clients."""
