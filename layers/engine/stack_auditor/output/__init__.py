"""Renderers of one audit's result for people (table) and machines (JSON, SARIF).

Each renderer is its own module so a command imports only the one it prints with: rich is
loaded for tables only, never for JSON or SARIF in CI.
"""
