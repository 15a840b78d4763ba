"""Re-run the cost model's calibration and print the fitted numbers in cost_profiles.toml's format.

    PYTHONPATH=$PWD python scripts/fit_cost_profile.py

The fit (core/references/cost_calibration.py) is deterministic: the printed values are the ones stored
in core/data/cost_profiles.toml; tests/unit/references/test_cost_calibration.py checks that they agree.
"""

from __future__ import annotations

import math

from core.references import cost_calibration

FIELDS = (
    "bandwidth_efficiency",
    "flops_efficiency",
    "pass_overhead_s",
    "decode_token_s",
    "verify_token_s",
    "draft_token_s",
    "draft_vocab_entry_s",
)


def main() -> int:
    result = cost_calibration.fit_eagle3_sglang()
    problem = cost_calibration.problem()
    print(
        f"# fit: {len(problem.observations)} points, {result.iterations} iterations, cost {result.cost:.6f}"
    )
    for obs, model, error in zip(problem.observations, result.model, result.log_errors, strict=True):
        print(f"#   {obs.label:8s} batch {obs.batch:3d}: model {model:8.2f}  published {obs.published:8.2f}"
              f"  error {math.expm1(error):+.1%}")  # fmt: skip
    for name in FIELDS:
        print(f"{name} = {getattr(result.profile, name):.4g}")
    print("\n[calibration.fitted_alpha]")
    for method, alpha in result.alphas.items():
        print(f'"{method}" = {alpha:.4f}')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
