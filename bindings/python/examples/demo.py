"""Batch gradient descent beside mini-batch gradient descent on the moons dataset.

    python bindings/python/examples/demo.py [--out costs.png] [--m 4000] [--batch-size 64]

Same as ``python -m minibatch_gd.demo``; works from a checkout without installing.
"""

import importlib.util
import os
import sys

if importlib.util.find_spec("minibatch") is None:  # running from a checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minibatch_gd.demo import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
