"""The assistant's language model: an OpenAI-compatible client, redaction and prompts.

Only this package imports `openai` (import-linter enforces it). Nothing here knows about
Proxmox clients, the UI or the history store; `services.assistant` composes them.
"""
