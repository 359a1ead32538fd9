"""Rules about EventBridge rules."""
