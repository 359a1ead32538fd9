"""Rules about RDS DB instances and clusters."""
