"""Rules about CloudWatch alarms."""
