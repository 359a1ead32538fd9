"""Rules about S3 buckets."""
