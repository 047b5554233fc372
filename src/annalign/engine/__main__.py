"""Run the annotate command alone: ``python -m annalign.engine --dataset dices350 --out r.csv``."""

from annalign.engine.cli import main

main()
