"""Run the annotate command alone: ``python -m annalign.engine --dataset dices350 --out r.csv``."""

from annalign.cli.annotate import main

main()
