"""Test doubles shipped for users and benchmarks: an OpenAI-compatible fake server, synthetic rater panels."""
