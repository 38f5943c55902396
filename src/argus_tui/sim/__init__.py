"""The built-in Proxmox VE API simulator: a real HTTPS server speaking `/api2/json`."""
