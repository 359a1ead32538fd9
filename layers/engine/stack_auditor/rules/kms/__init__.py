"""Rules about KMS keys."""
