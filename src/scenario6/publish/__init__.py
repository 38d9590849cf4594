"""Publish mode: the app model as deployment files (Compose, Kubernetes) and a deploy step.

Publishers are pure (services in, text out); ``bundle.publish`` writes the folder and
``deploy.deploy`` builds the images and starts the stack with Docker Compose v2.
"""
