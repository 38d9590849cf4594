"""Aspire's dashboard, fed by this run: its gRPC resource service (``aspire.v1``)."""
