"""Local stack tooling: the functions host, provisioning from the registry, health checks."""
