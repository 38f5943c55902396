"""Application logic between the UI/CLI and the client, store and LLM layers."""
