"""Write tests/fixtures/dices350-judge-dist.csv: a synthetic judge that states a label distribution per item.

Its shares are the DICES-350 raters' own label shares per item, blurred (a Dirichlet draw around
them, concentration 4) and mixed 30% with the global label shares: a judge that knows roughly how
people split. Seeded; the file is committed and the tests read it.

    python scripts/make_dist_fixture.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import annalign
from annalign.core.labelcodes import crowd_of

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    data = annalign.load("dices350")
    crowd, coded = crowd_of(data)
    human = crowd.distributions
    rng = np.random.default_rng(350)
    overall = crowd.counts.sum(axis=0) / crowd.counts.sum()
    blurred = np.stack([rng.dirichlet(4 * p + 0.3) for p in human])
    shares = np.round(0.7 * blurred + 0.3 * overall, 4)
    frame = pd.DataFrame({"item_id": data.item_ids, **{f"p_{label.lower()}": shares[:, k] for k, label in enumerate(coded.labels)}})
    frame.to_csv(ROOT / "tests" / "fixtures" / "dices350-judge-dist.csv", index=False)
    print(f"wrote {len(frame)} rows, labels {coded.labels}")


if __name__ == "__main__":
    main()
