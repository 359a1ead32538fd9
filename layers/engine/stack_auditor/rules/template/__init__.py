"""Rules about the template as a whole (portability of literal values, suppressions)."""
