"""Run mode: starts an app model's resources locally (``scenario6 run``)."""
