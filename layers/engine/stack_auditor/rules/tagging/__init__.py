"""Rules about resource tags."""
