"""Rules about API Gateway stages and account settings."""
