"""Argus: a keyboard-driven terminal UI for Proxmox VE."""

__version__ = "0.1.0"
