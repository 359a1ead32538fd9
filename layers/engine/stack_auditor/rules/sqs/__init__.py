"""Rules about SQS queues."""
