"""PersonaPlex with several conversations per model: one batched forward pass per 80 ms frame.

Upstream's server holds one conversation at a time. This package runs the same fork, the same
weights and the same prompt conditioning, with N conversation *slots* on one model:

- :mod:`.rows` keeps the temporal transformer's streaming state (KV caches, positions) as one
  row per slot in batch-wide tensors, and steps every live row in one forward pass, each at its
  own position;
- :mod:`.sampling` draws each slot's tokens from the slot's own random generator;
- :mod:`.prompt` runs a joining slot's prompt phase, whose inputs are all known in advance,
  tens of steps to a pass of its row;
- :mod:`.stepper` owns the slots: a joining slot prompts between frames, then joins the batch;
- :mod:`.scheduler` paces the frames and fits the joining slots' prompt steps between them;
- :mod:`.conversation` holds one client's socket, codecs and waiting audio;
- :mod:`.server` speaks the moshi protocol at ``/api/chat``.

It needs torch and PersonaPlex's ``moshi`` fork: it runs in the backend image (or the test
model's venv), never in the frontend.
"""
