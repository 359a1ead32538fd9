"""Rules about IAM principals and the policies the stack writes."""
