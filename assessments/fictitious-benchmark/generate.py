"""Write five FICTITIOUS organizations for the benchmark example in the README.

Every name, answer and number here is made up: the five retailers do not exist and describe
no real organization or person. Each folder gets an assessment.yaml and a responses.csv of 12
respondents whose answers centre on a different level, so the benchmark has a spread.

Usage: python assessments/fictitious-benchmark/generate.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import xmkit

HERE = Path(__file__).parent
ORGANIZATIONS = [  # (folder, level the answers centre on, period)
    ("fictitious-retailer-a", 1.8, "2026 Q1"),
    ("fictitious-retailer-b", 2.4, "2026 Q1"),
    ("fictitious-retailer-c", 2.9, "2026 Q2"),
    ("fictitious-retailer-d", 3.4, "2026 Q2"),
    ("fictitious-retailer-e", 4.0, "2026 Q3"),
]


def main() -> None:
    framework = xmkit.load_framework()
    for i, (folder, level, period) in enumerate(ORGANIZATIONS):
        rng = np.random.default_rng(i)
        answers = rng.normal(level, 0.7, size=(12, len(framework.question_ids)))
        data = pd.DataFrame(
            np.clip(np.round(answers), 1, 5).astype(int), columns=framework.question_ids
        )
        data.insert(0, "role", ["Executive", "Manager", "Frontline"] * 4)
        data.insert(0, "unit", "Head office")
        data.insert(0, "respondent_id", [f"FICT-{i}-{k:02d}" for k in range(12)])
        (HERE / folder).mkdir(exist_ok=True)
        data.to_csv(HERE / folder / "responses.csv", index=False)
        name = folder.replace("-", " ").title()
        (HERE / folder / "assessment.yaml").write_text(
            f'client: {name}\nperiod: "{period}"\nindustry: Retail\n'
            "description: FICTITIOUS organization for the benchmark example; not a real company.\n",
            encoding="utf-8",
        )
        print(f"wrote {HERE / folder}")


if __name__ == "__main__":
    main()
