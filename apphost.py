"""The app model: what `scenario6 run` starts and `scenario6 publish` writes out.

Run mode (`scenario6 run`): the moshi backend in a container, the frontend natively from
.venv with fast reload. Publish mode (`scenario6 publish`): both as containers.
Settings come from the environment or .env: USE_GPU, CPU_OFFLOAD, MOSHI_USE_SSL,
HF_TOKEN (asked for when missing), ACCESS_CODES (invitation codes: asked for when publishing,
optional in run mode), PERSONAPLEX_MODEL_DIR (local model files instead of a
download: no token then), MOSHI_SLOTS (conversations the batched backend holds at once),
MOSHI_PORT, FRONTEND_PORT, SCENARIO6_BASE_IMAGE, SCENARIO6_BACKEND_IMAGE.
"""

import socket
from pathlib import Path

from scenario6.apphost import AppModelError, DistributedApplication, Lifetime
from scenario6.facts import contract
from scenario6.facts.kinds import BATCHED, IMAGE_TARGETS, MODEL_BACKENDS
from scenario6.facts.names import BACKEND, BACKEND_PORT, FRONTEND, FRONTEND_PORT, TOKEN
from scenario6.facts.slots import SLOTS_ENV, SLOTS_SETTING, SlotsError, parse_slots
from scenario6.frontend.hosts import LOCAL_NAMES
from scenario6.frontend.serving import UVICORN_ARGS

builder = DistributedApplication.create_builder(name="scenario6")
config = builder.configuration
publishing = builder.execution_context.is_publish_mode

# Which backend runs, and how, as `scenario6 run` (from what this machine has) or `scenario6
# publish` (from its options) chose it.
chosen = builder.stack
backend = chosen.backend
base_image = config.get("SCENARIO6_BASE_IMAGE")
# A backend image this machine already has (a mirror, or moshi/Dockerfile built with its CPU
# build arguments) instead of building moshi/Dockerfile.
backend_image = config.get("SCENARIO6_BACKEND_IMAGE")

use_gpu = config.get_bool("USE_GPU", True)
use_ssl = config.get_bool("MOSHI_USE_SSL", False)
cpu_offload = config.get_bool("CPU_OFFLOAD", False)
# A folder with the model's files (see scenario6.backend.model_folder): run mode mounts it,
# published files expect them in a volume (the image's contract names both).
model_dir = config.get("PERSONAPLEX_MODEL_DIR")
moshi_port = config.get_int("MOSHI_PORT", BACKEND_PORT)
frontend_port = config.get_int("FRONTEND_PORT", FRONTEND_PORT)

# The batched backend holds this many conversations at once ("auto": what its GPU fits).
slots = None
if backend == BATCHED:
    try:
        slots = parse_slots(config.get(SLOTS_ENV))
    except SlotsError as error:
        raise AppModelError(str(error), field=SLOTS_ENV) from None

moshi = None
moshi_ca = None
if chosen.backend_placement == "container":
    target = IMAGE_TARGETS[backend]
    moshi = (
        builder.add_container(BACKEND, backend_image)
        if backend_image
        else builder.add_dockerfile(BACKEND, ".", "moshi/Dockerfile", target=target)
    )
    (
        moshi.with_endpoint(
            name="http",
            scheme="https" if use_ssl else "http",
            port=moshi_port,
            target_port=BACKEND_PORT,
            env="MOSHI_PORT",
        )
        .with_environment("MOSHI_HOST", "0.0.0.0")
        .with_environment("MOSHI_USE_SSL", "1" if use_ssl else "0")
        .with_environment("MOSHI_CPU_OFFLOAD", "1" if cpu_offload else "0")
        # The model cache, on a named volume: not the host's own HF_HOME.
        .with_environment("HF_HOME", contract.HF_HOME)
        .with_environment("NO_TORCH_COMPILE", "1")
        .with_volume(contract.CACHE_VOLUME, contract.HF_HOME)
        .with_lifetime(Lifetime.PERSISTENT)
    )
    # What the image answers once it is ready (PersonaPlex: only after loading its model).
    ready = contract.readiness(backend)
    moshi.with_http_health_check(ready.path, status=ready.status)
    if backend in MODEL_BACKENDS:
        if model_dir:
            moshi.with_environment("MOSHI_MODEL_DIR", contract.MODEL_MOUNT)
            if publishing:
                moshi.with_volume(contract.MODEL_VOLUME, contract.MODEL_MOUNT, read_only=True)
            else:
                folder = builder.app_dir / Path(model_dir).expanduser()  # relative: to here
                moshi.with_bind_mount(folder, contract.MODEL_MOUNT, read_only=True)
            moshi.with_startup_timeout(600)
        else:
            # The token reaches the backend only; the frontend never needs it.
            hf_token = builder.add_parameter(
                "hf-token", secret=True, description="Hugging Face token"
            )
            moshi.with_environment(TOKEN, hf_token)
            # The first start downloads ~17 GB of weights into the volume.
            moshi.with_startup_timeout(3600)
        if use_gpu:
            moshi.with_gpus()
        else:  # the server would look for CUDA and stop
            moshi.with_environment("MOSHI_DEVICE", "cpu")
            # One thread per process keeps the 80 ms frame steady on a few cores: with two,
            # PyTorch's threads fight the event loop and frame times spike under load.
            moshi.with_environment("OMP_NUM_THREADS", config.get("OMP_NUM_THREADS", "1"))
        if device := config.get("MOSHI_DEVICE"):  # e.g. cuda:1 on a machine with several GPUs
            moshi.with_environment("MOSHI_DEVICE", device)
        if slots is not None:
            # Also named here, so that a personaplex image given as SCENARIO6_BACKEND_IMAGE
            # (or --image) runs the batched server too.
            moshi.with_environment("MOSHI_BACKEND", BATCHED)
            moshi.with_environment(SLOTS_ENV, str(slots))
    if base_image and not backend_image:
        moshi.with_build_arg("BASE_IMAGE", base_image)
    if use_ssl and not publishing:
        # The backend makes its certificate on first start; the frontend trusts its CA, copied
        # out of the container (publishing shares the certificate volume instead).
        moshi_ca = builder.app_dir / ".scenario6" / "moshi-ca.pem"
        moshi.with_file_export(contract.CA_FILE, moshi_ca)
elif chosen.backend_placement == "native":  # the loopback: no image, no model
    ready = contract.readiness(backend)
    moshi = (
        builder.add_python_module(
            BACKEND,
            ".",
            "scenario6",
            ["backend", "loopback", "--host", "127.0.0.1", "--port", str(moshi_port)],
        )
        .with_http_endpoint(port=moshi_port)
        .with_http_health_check(ready.path, status=ready.status)
    )

if chosen.frontend == "python":
    frontend = (
        builder.add_uvicorn_app(FRONTEND, ".", "scenario6.frontend.app:app")
        .with_virtual_environment(".venv")
        .with_pip("-c", "requirements.lock", "-e", ".")
        .with_reload("src/scenario6")
        .with_http_endpoint(port=frontend_port, env="APP_PORT")
        .with_environment("APP_HOST", "127.0.0.1")
        # The frontend's request limits and timeouts, as its image serves them.
        .with_args(*UVICORN_ARGS)
    )
else:
    frontend = (
        builder.add_dockerfile(FRONTEND, ".", "Dockerfile")
        .with_http_endpoint(port=frontend_port, target_port=FRONTEND_PORT, env="APP_PORT")
        .with_environment("APP_HOST", "0.0.0.0")
    )
    if base_image:
        frontend.with_build_arg("BASE_IMAGE", base_image)

frontend.with_environment("PYTHONUNBUFFERED", "1").with_http_health_check("/health")
if publishing:
    # The names the published frontend answers to: those its certificate covers (`scenario6
    # publish --tls-name` adds to them). Run mode keeps the frontend's local defaults.
    tls_names = [n for n in config.get("SCENARIO6_TLS_NAMES", "").split(",") if n]
    served = [*LOCAL_NAMES, socket.gethostname().lower(), frontend.name, *tls_names]
    frontend.with_environment("SERVER_NAMES", ",".join(dict.fromkeys(served)))
# The access gate (docs/security.md): a published frontend admits only people with an
# invitation code, since each conversation holds a GPU. Run mode serves 127.0.0.1 and stays
# open unless ACCESS_CODES is set.
if publishing or config.get("ACCESS_CODES"):
    access_codes = builder.add_parameter(
        "access-codes", secret=True, description="invitation codes, e.g. alice:CODE,bob:CODE"
    )
    frontend.with_environment("ACCESS_CODES", access_codes)
if isinstance(slots, int):
    # A fixed count is known now; with "auto" the frontend learns it from the backend's answer.
    frontend.with_environment(SLOTS_SETTING, str(slots))
if moshi is not None:
    frontend.with_environment("MOSHI_WS_URL", moshi.get_endpoint("http")).wait_for(moshi)
else:
    frontend.with_environment("MOSHI_WS_URL", backend)
if moshi_ca is not None and chosen.frontend == "python":
    frontend.with_environment("MOSHI_TLS_CA", str(moshi_ca))
elif moshi_ca is not None:
    frontend.with_bind_mount(moshi_ca, "/run/scenario6/moshi-ca.pem", read_only=True)
    frontend.with_environment("MOSHI_TLS_CA", "/run/scenario6/moshi-ca.pem")

builder.build().run()
