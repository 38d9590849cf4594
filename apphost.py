"""The app model: what `scenario6 run` starts and `scenario6 publish` writes out.

Run mode (`scenario6 run`): the moshi backend in a container, the frontend natively from
.venv with fast reload. Publish mode (`scenario6 publish`): both as containers.
Settings come from the environment or .env: USE_GPU, CPU_OFFLOAD, MOSHI_USE_SSL,
HF_TOKEN (asked for when missing), MOSHI_PORT, FRONTEND_PORT, SCENARIO6_BASE_IMAGE.
"""

from scenario6.apphost import DistributedApplication, Lifetime

builder = DistributedApplication.create_builder(name="scenario6")
config = builder.configuration
publishing = builder.execution_context.is_publish_mode

# `scenario6 run --backend ...` sets these; publishing always targets the real model.
backend = config.get("SCENARIO6_BACKEND", "personaplex")
backend_runtime = config.get("SCENARIO6_BACKEND_RUNTIME", "container")
frontend_runtime = "docker" if publishing else config.get("SCENARIO6_FRONTEND", "python")
base_image = config.get("SCENARIO6_BASE_IMAGE")

use_gpu = config.get_bool("USE_GPU", True)
use_ssl = config.get_bool("MOSHI_USE_SSL", False)
cpu_offload = config.get_bool("CPU_OFFLOAD", False)
# The model cache: the folder the backend image creates for its user, on a named volume
# (a volume mounted anywhere else would belong to root). Not the host's own HF_HOME.
hf_home = "/data/hf"
moshi_port = config.get_int("MOSHI_PORT", 8998)
frontend_port = config.get_int("FRONTEND_PORT", 8010)

moshi = None
moshi_ca = None
if backend in ("personaplex", "loopback") and (publishing or backend_runtime == "container"):
    moshi = (
        builder.add_dockerfile("scenario6-moshi", ".", "moshi/Dockerfile", target=backend)
        .with_endpoint(
            name="http",
            scheme="https" if use_ssl else "http",
            port=moshi_port,
            target_port=8998,
            env="MOSHI_PORT",
        )
        .with_environment("MOSHI_HOST", "0.0.0.0")
        .with_environment("MOSHI_USE_SSL", "1" if use_ssl else "0")
        .with_environment("MOSHI_CPU_OFFLOAD", "1" if cpu_offload else "0")
        .with_environment("HF_HOME", hf_home)
        .with_environment("NO_TORCH_COMPILE", "1")
        .with_volume("scenario6-hf-cache", hf_home)
        .with_http_health_check("/health")
        .with_lifetime(Lifetime.PERSISTENT)
    )
    if backend == "personaplex":
        # The token reaches the backend only; the frontend never needs it.
        hf_token = builder.add_parameter("hf-token", secret=True, description="Hugging Face token")
        moshi.with_environment("HF_TOKEN", hf_token)
        # The first start downloads ~17 GB of weights into the volume.
        moshi.with_startup_timeout(3600)
        if use_gpu:
            moshi.with_gpus()
        else:  # the server would look for CUDA and stop
            moshi.with_environment("MOSHI_DEVICE", "cpu")
        if device := config.get("MOSHI_DEVICE"):  # e.g. cuda:1 on a machine with several GPUs
            moshi.with_environment("MOSHI_DEVICE", device)
    if base_image:
        moshi.with_build_arg("BASE_IMAGE", base_image)
    if use_ssl and not publishing:
        # The backend makes its certificate on first start; the frontend trusts its CA, copied
        # out of the container (publishing shares the certificate volume instead).
        moshi_ca = builder.app_dir / ".scenario6" / "moshi-ca.pem"
        moshi.with_file_export("/data/certs/ca.pem", moshi_ca)
elif backend == "loopback":
    moshi = (
        builder.add_python_module(
            "scenario6-moshi",
            ".",
            "scenario6",
            ["backend", "loopback", "--host", "127.0.0.1", "--port", str(moshi_port)],
        )
        .with_http_endpoint(port=moshi_port)
        .with_http_health_check("/health")
    )

if frontend_runtime == "python":
    frontend = (
        builder.add_uvicorn_app("scenario6-frontend", ".", "scenario6.frontend.app:app")
        .with_virtual_environment(".venv")
        .with_pip("-c", "requirements.lock", "-e", ".")
        .with_reload("src/scenario6")
        .with_http_endpoint(port=frontend_port, env="APP_PORT")
        .with_environment("APP_HOST", "127.0.0.1")
    )
else:
    frontend = (
        builder.add_dockerfile("scenario6-frontend", ".", "Dockerfile")
        .with_http_endpoint(port=frontend_port, target_port=8010, env="APP_PORT")
        .with_environment("APP_HOST", "0.0.0.0")
    )
    if base_image:
        frontend.with_build_arg("BASE_IMAGE", base_image)

frontend.with_environment("PYTHONUNBUFFERED", "1").with_http_health_check("/health")
if moshi is not None:
    frontend.with_environment("MOSHI_WS_URL", moshi.get_endpoint("http")).wait_for(moshi)
else:
    frontend.with_environment("MOSHI_WS_URL", backend)
if moshi_ca is not None and frontend_runtime == "python":
    frontend.with_environment("MOSHI_TLS_CA", str(moshi_ca))
elif moshi_ca is not None:
    frontend.with_bind_mount(moshi_ca, "/run/scenario6/moshi-ca.pem", read_only=True)
    frontend.with_environment("MOSHI_TLS_CA", "/run/scenario6/moshi-ca.pem")

builder.build().run()
