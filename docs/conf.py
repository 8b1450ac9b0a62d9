"""Sphinx configuration of the skdigits documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
"""

import os
import sys

import skdigits

sys.path.insert(0, os.path.dirname(__file__))  # gallery_argv

project = "skdigits"
author = "the skdigits developers"
copyright = "2026, the skdigits developers"
release = version = skdigits.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_templates",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
]
# The theme of scikit-learn, NumPy and pandas.
html_theme = "pydata_sphinx_theme"
html_title = "skdigits"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}

autosummary_generate = True
# The set_*_request methods are scikit-learn's metadata routing, documented
# there; callbacks' hooks without a docstring of their own are Keras's.
autodoc_default_options = {
    "members": True,
    "exclude-members": "set_fit_request, set_partial_fit_request, set_score_request",
}
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Links to the libraries' own docs need the internet; off unless asked for.
intersphinx_mapping = {}
if os.environ.get("SKDIGITS_DOCS_INTERSPHINX"):
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "keras": ("https://keras.io/api", None),
    }

# The gallery runs every example in its quick mode, each plot on its page.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",
    "reset_argv": "gallery_argv.quick",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
}

myst_heading_anchors = 3
