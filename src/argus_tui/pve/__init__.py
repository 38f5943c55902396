"""The Proxmox VE client: session, TLS, error mapping, JSON -> domain mapping."""
