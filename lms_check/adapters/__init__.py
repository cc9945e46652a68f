"""Adapters: how a client is plugged into ``cckit lms-check run`` (examples to copy)."""
