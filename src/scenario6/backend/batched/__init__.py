"""PersonaPlex with several conversations per model: one batched forward pass per 80 ms frame.

Upstream's server holds one conversation at a time. This package runs the same fork, the same
weights and the same prompt conditioning, with N conversation *slots* on one model:

- :mod:`.rows` keeps the temporal transformer's streaming state (KV caches, positions) as one
  row per slot in batch-wide tensors, and steps every live row in one forward pass, each at its
  own position;
- :mod:`.sampling` draws each slot's tokens from the slot's own random generator;
- :mod:`.engine` owns the slots: a joining slot's prompt phase runs upstream's own code at
  batch size 1 between frames, then the slot joins the batch;
- :mod:`.server` speaks the moshi protocol at ``/api/chat`` and paces the frames.

It needs torch and PersonaPlex's ``moshi`` fork: it runs in the backend image (or the test
model's venv), never in the frontend.
"""
