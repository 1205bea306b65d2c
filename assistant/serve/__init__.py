"""Serve: the assistant as an HTTP service of answer replicas on Ray Serve (`assistant serve`):
`POST /ask` gives the answer contract and the replica that answered, `GET /healthz`."""

from assistant.serve.command import deployment_options, start, stop

__all__ = ["deployment_options", "start", "stop"]
