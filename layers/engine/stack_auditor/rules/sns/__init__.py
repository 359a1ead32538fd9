"""Rules about SNS topics."""
