"""Test helpers that ship with evalkit: a loopback VLM server with fault injection.

``evalkit.testing.fake_server`` speaks the OpenAI chat-completions and DashScope protocols on
127.0.0.1. evalkit's tests and benchmarks use it, and so can a user's CI: point a run at it
(``backend.base_url=http://127.0.0.1:PORT/v1``) to check a pipeline without a model.
"""
