"""Several conversations' rows through each of Mimi's convolutions in one product give each
row what torch's one-row kernel gives it alone (upstream's path for one conversation)."""

from __future__ import annotations

from tests.personaplex.scenarios import run_scenario
from tests.support.personaplex import TinyPersonaPlex

# float32 rounding of a product summed in another order; a row mixed up with another, or
# windows out of place, is off by the outputs' own size.
RELATIVE = 1e-5


def test_each_convolution_over_many_rows_matches_one_row_at_a_time(
    tiny_personaplex: TinyPersonaPlex,
) -> None:
    result = run_scenario(
        tiny_personaplex,
        "tests.personaplex.batched_convolution",
        str(tiny_personaplex.model_dir),
        str(tiny_personaplex.architecture),
    )
    # Every convolution of Mimi is plain (no groups, no dilation): all take the product.
    assert result["changed"] == result["convolutions"] > 10
    layers = result["layers"]
    identical = sum(layer["identical"] for layer in layers)
    print(f"{identical} of {len(layers)} (layer, rows) pairs identical bit for bit")
    for layer in layers:
        assert layer["shape_ok"], layer
        assert layer["max_difference"] <= RELATIVE * layer["scale"], layer
