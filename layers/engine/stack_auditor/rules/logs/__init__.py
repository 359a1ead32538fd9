"""Rules about CloudWatch Logs log groups."""
