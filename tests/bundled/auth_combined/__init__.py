"""Auth plugins together: logical OR, consumer-scoped configs, security, reloads (and shared helpers)."""
