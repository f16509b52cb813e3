"""Utilities every layer may use: safe YAML, atomic files, Ctrl-C handling, short messages, the version.

Owns nothing clinical and knows no variable. It imports only the standard library,
numpy and PyYAML, never another part of popliteal.
"""
