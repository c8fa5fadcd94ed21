"""Compile the contracts: the same as `mrv contracts build` (see mrv_cli/contracts_build.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mrv_cli.contracts_build import main

if __name__ == "__main__":
    sys.exit(main())
