"""Rules about DynamoDB tables."""
