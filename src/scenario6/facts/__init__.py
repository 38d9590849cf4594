"""The app's own facts, each written once: what every layer of scenario6 reads.

- :mod:`.names`: the two services' names and ports, and the secret's name;
- :mod:`.kinds`: the backend kinds and the image target each runs in;
- :mod:`.urls`: how a backend URL is written (``MOSHI_WS_URL``, ``--backend URL``);
- :mod:`.stack`: which backend and frontend a command chose and where each runs, for the app model;
- :mod:`.contract`: the backend image's readiness, paths and volumes.

The app model (``apphost.py``), ``run``, ``publish``, ``doctor``, ``bench``, the frontend and
the backend images all read them from here. Standard library and :mod:`scenario6.protocol`
only: the backend images carry this package without the frontend's dependencies.
"""
