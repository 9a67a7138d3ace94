"""``python -m skelloc``."""

from skelloc.cli import main

if __name__ == "__main__":
    main()
