"""Sphinx configuration of the neurospec documentation.

Build (from the repository root)::

    python -m sphinx -W -b html docs docs/_build/html

The tutorials (``tutorials/*.ipynb``, stored without outputs) are copied into
``docs/tutorials/`` and executed by myst-nb through jupyter-cache: a notebook runs again only
when its code changes (cache in ``docs/_build/.jupyter_cache``; ``-D
nb_execution_cache_path=DIR`` puts it elsewhere). Nothing is downloaded at build time: no
intersphinx; MathJax is loaded by the reader's browser.
"""

from __future__ import annotations

import filecmp
import inspect
import os
import shutil
import sys
from importlib import import_module
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the working tree, installed or not

import neurospec  # noqa: E402

# the executed tutorials run with the non-interactive backend and one BLAS thread each
os.environ.setdefault("MPLBACKEND", "Agg")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

project = "neurospec"
author = "neurospec developers"
copyright = "neurospec developers"
version = release = neurospec.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
    "sphinx_copybutton",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**.rst.inc", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# --- the tutorials: copied from ../tutorials (the copies are build products, not sources) -----
_TUTORIALS = ROOT / "tutorials"
_TUTORIAL_COPIES = DOCS / "tutorials"


def _copy_tutorials():
    """Copy tutorials/*.ipynb next to docs/tutorials/index.md; unchanged files keep their
    modification time, so an unchanged rebuild re-reads nothing."""
    wanted = {p.name: p for p in sorted(_TUTORIALS.glob("[0-9][0-9]_*.ipynb"))}
    for stale in _TUTORIAL_COPIES.glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    for name, src in wanted.items():
        dst = _TUTORIAL_COPIES / name
        if not dst.exists() or not filecmp.cmp(src, dst, shallow=False):
            shutil.copy2(src, dst)


_copy_tutorials()

# --- API reference: pages written from each namespace's __all__ ---------------------------
# Every public name of the public namespaces gets a page (autosummary), so a name added to an
# __all__ is documented without touching the docs; the texts and preferred order are here.
_API_PAGES = {
    "pipeline": ("neurospec", "``neurospec``: the pipeline", """\
From a file to ``g_eff``: :func:`load` a :class:`Recording`, estimate its
:class:`CovarianceSpectrum`, fit a :class:`GainFit` and check the windows with
:func:`window_ladder`; simulate recordings with known truth with :class:`RateNetwork`. These
names are defined in submodules and imported from the package itself
(``import neurospec as ns; ns.GainFit``).""",
                 ["load", "describe", "open_lazy", "Recording", "CovarianceSpectrum",
                  "subsample_spectra", "GainFit", "window_ladder", "RateNetwork"]),
    "preprocess": ("neurospec.preprocess", "``neurospec.preprocess``: preparing activity", None, []),
    "diagnostics": ("neurospec.diagnostics", "``neurospec.diagnostics``: controls and checks",
                    None, ["shift_control", "control_fit", "moment_estimate", "split_half",
                           "compare"]),
    "theory": ("neurospec.theory", "``neurospec.theory``: random-network theory", None,
               ["LinearSpectrum", "MarchenkoPastur", "sampled", "subsampled",
                "effective_gain", "MeanFieldResult", "predicted_spectrum"]),
    "plotting": ("neurospec.plotting", "``neurospec.plotting``: figures", None,
                 ["spectrum_figure", "rank_plot", "density_plot", "cdf_plot",
                  "subsampling_plot"]),
    "io": ("neurospec.io", "``neurospec.io``: reading recordings", None,
           ["load", "open_lazy", "describe", "format_description"]),
    "errors": ("neurospec.errors", "``neurospec.errors``: what can go wrong", None,
               ["NeurospecError"]),
}
#: extra text at the end of a page
_API_EXTRA = {
    "io": """
The format-specific readers behind :func:`load`; their keyword options are what ``load``
passes on.

.. autosummary::
   :toctree: generated
   :nosignatures:

   nwb.load_nwb
   nwb.describe_nwb
   arrays.open_array
   arrays.describe_array
""",
}
_NOT_LIBRARY = {"neurospec.cli", "neurospec.__main__"}


def _write_if_changed(path, text):
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _public_names(mod):
    """``__all__`` less the submodules (``neurospec.__all__`` lists ``theory``, ``io``...)."""
    names = []
    for name in getattr(mod, "__all__", []):
        try:
            obj = getattr(mod, name)
        except (AttributeError, ImportError):
            continue
        if not isinstance(obj, type(neurospec)):
            names.append((name, obj))
    return names


def _autosummary(names):
    return ([".. autosummary::", "   :toctree: generated", "   :nosignatures:", ""]
            + [f"   {n}" for n in names] + [""])


def _write_api_pages():
    """api/<page>.rst for each namespace that imports, api/modules.rst for the submodules,
    and the toctree of api/index.rst (api/toctree.rst.inc)."""
    import pkgutil

    documented, toc = {}, []
    for key, (ns_name, title, intro, order) in _API_PAGES.items():
        try:
            ns_mod = import_module(ns_name)
        except ImportError:
            continue  # a namespace still being written is left out, not a broken build
        names = _public_names(ns_mod)
        rank = {n: i for i, n in enumerate(order)}
        names.sort(key=lambda item: (rank.get(item[0], len(rank)), item[0].lower()))
        for name, obj in names:
            if not isinstance(obj, (str, tuple, frozenset, int, float)):
                documented.setdefault(id(obj), f"{ns_name}.{name}")
        lines = [f".. _api-{key}:", "", title, "=" * len(title), ""]
        if ns_name != "neurospec":
            lines += [f".. automodule:: {ns_name}", "   :no-members:", ""]
        lines += [f".. currentmodule:: {ns_name}", ""]
        if intro:
            lines += [intro, ""]
        lines += _autosummary([n for n, _ in names]) + [_API_EXTRA.get(key, "")]
        _write_if_changed(DOCS / "api" / f"{key}.rst", "\n".join(lines))
        toc.append(key)

    lines = [".. _api-modules:", "", "Submodules", "==========", "",
             "Where each public name is defined, and the lower-level building blocks that the",
             "pipeline uses (estimator helpers, warnings, coupling matrices, the theory's base",
             "class). Import them from their module.", ""]
    mods = sorted(m.name for m in pkgutil.walk_packages(neurospec.__path__, "neurospec.")
                  if not any(part.startswith("_") for part in m.name.split(".")))
    mods = [m for m in mods if m not in _NOT_LIBRARY
            and m not in {ns for ns, *_ in _API_PAGES.values()}]
    for mod_name in mods:
        try:
            mod = import_module(mod_name)
        except ImportError:
            continue
        names = _public_names(mod)
        own, elsewhere = [], []
        for name, obj in names:
            home = getattr(obj, "__module__", None)
            if id(obj) in documented:
                elsewhere.append(documented[id(obj)])
            elif isinstance(obj, type) or callable(obj):
                if (home != mod_name and home in mods
                        and name in getattr(import_module(home), "__all__", ())):
                    elsewhere.append(f"{home}.{name}")  # documented with its own module
                else:
                    own.append(name)
            else:
                own.append(name)
        lines += [f"``{mod_name}``", "-" * (len(mod_name) + 4), "",
                  f".. automodule:: {mod_name}", "   :no-members:", "",
                  f".. currentmodule:: {mod_name}", ""]
        if elsewhere:
            lines += ["Also here: " + ", ".join(f":obj:`~{t}`" for t in elsewhere) + ".", ""]
        if own:
            lines += _autosummary(own)
    _write_if_changed(DOCS / "api" / "modules.rst", "\n".join(lines))
    toc.append("modules")
    _write_if_changed(DOCS / "api" / "toctree.rst.inc",
                      ".. toctree::\n   :maxdepth: 1\n\n" + "".join(f"   {k}\n" for k in toc))


_write_api_pages()

# --- API reference: autosummary + numpydoc ---------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"          # numpydoc's Parameters section carries the types
numpydoc_show_class_members = False  # the class template lists the members itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False

# broken cross-references are errors (with -W); external projects are not linked (no
# intersphinx: the build must not need the network), so references to them are let pass
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|matplotlib|pandas|pd|sklearn|lmfit|pynwb|h5py|dask|numba"
               r"|tqdm|threadpoolctl|pathlib|os|collections|typing|abc|dataclasses)(\..*)?"),
    (r"py:.*", r"(neurospec\.)?_\w+(\..*)?|.*\._\w+"),  # private: named, not linked
    (r"py:.*", r"(Path|Axes|Figure|DataFrame|ndarray|array_like|optional|callable|iterable"
               r"|int|float|str|bool|dict|list|tuple|None|object|type|Generator|Iterator"
               r"|ValueError|UserWarning|RuntimeWarning|Warning|Exception)"),
]

# --- notebooks: myst-nb executing through jupyter-cache ---------------------------------------
nb_execution_mode = "cache"
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 600          # per cell; every cell is written to take well under a minute
nb_execution_raise_on_error = True  # a failing notebook fails the build
nb_execution_show_tb = True
nb_execution_in_temp = False        # run beside the notebook: it finds ../data_samples itself
nb_merge_streams = True
nb_kernel_rgx_aliases = {".*": "python3"}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True
suppress_warnings = ["mystnb.unknown_mime_type"]

# --- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"neurospec {release}"
html_static_path = ["_static"]
html_css_files = ["neurospec.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
# pages without sub-pages get no (empty) section navigation
html_sidebars = {page: [] for page in ("index", "getting_started", "theory", "validation",
                                       "citing", "changelog")}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


# --- docstring hooks ---------------------------------------------------------------------------
import re  # noqa: E402

_SKLEARN_MEMBERS = {"get_params", "set_params", "get_metadata_routing", "set_output",
                    "fit_transform", "with_traceback", "add_note"}
_TYPE_LINE = re.compile(r"^(\s*\*{0,2}\w+(?:, \w+)* : )(.*)$")


def _skip_member(app, what, name, obj, skip, options):
    """Leave out what scikit-learn's base classes add to every estimator."""
    if name in _SKLEARN_MEMBERS or re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def _escape_types(app, what, name, obj, options, lines):
    """``shape (n_features_in_,)`` in a type is not a reST link target: escape the underscore."""
    for i, line in enumerate(lines):
        m = _TYPE_LINE.match(line)
        if m:
            lines[i] = m.group(1) + re.sub(r"(\w)_(?=[,)\] ]|$)", r"\1\\_", m.group(2))


def _import_object(dotted):
    """The object a dotted name refers to, or None."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return None
        return obj
    return None


def _same(a, b):
    """Identity, or equality for bound methods (each attribute access makes a new one)."""
    if a is b:
        return True
    try:
        return inspect.ismethod(a) and bool(a == b)
    except Exception:
        return False


def _resolve_short_names(app, env, node, contnode):
    """Resolve a short Python reference (``Recording.to_nwb``, ``trial_index``) that the
    standard lookup misses to the one documented object whose name ends with it."""
    if node.get("refdomain") != "py":
        return None
    target = re.sub(r"\s+", "", node["reftarget"]).lstrip("~.")  # a role broken over lines
    domain = env.get_domain("py")
    if target != node["reftarget"].lstrip("~."):
        found = domain.resolve_xref(env, node.get("refdoc"), app.builder, node.get("reftype"),
                                    target, node, contnode)
        if found is not None:
            return found
    matches = domain.find_obj(env, node.get("py:module"), node.get("py:class"), target,
                              node.get("reftype"), searchmode=1)
    if not matches and target.startswith("neurospec."):
        # another name of a documented object: neurospec.fit.GainFit is documented as
        # neurospec.GainFit, neurospec.theory.linear.Spectrum as neurospec.theory.base.Spectrum
        obj = _import_object(target)
        tail = target.rsplit(".", 1)[-1]
        matches = [(n, o) for n, o in domain.objects.items() if obj is not None
                   and n.endswith("." + tail) and _same(_import_object(n), obj)]
    docs = {(o.docname, o.node_id) for _, o in matches}
    if len(docs) != 1:
        if node.get("reftype") == "attr" and not matches:
            return contnode  # an entry of an Attributes section: shown as code, not linked
        return None
    from sphinx.util.nodes import make_refnode

    name, obj = matches[0]
    return make_refnode(app.builder, node.get("refdoc"), obj.docname, obj.node_id, contnode, name)


def _remove_stale_stubs(app):
    """autosummary never deletes a page whose entry was removed: do it, so that a renamed
    object leaves no orphan page behind (runs after autosummary has written its stubs)."""
    from sphinx.ext.autosummary.generate import find_autosummary_in_files

    wanted = {entry.name for entry in find_autosummary_in_files(
        [str(f) for f in (DOCS / "api").glob("*.rst")]) if entry.path}
    folder = DOCS / "api" / "generated"
    for stub in folder.glob("*.rst"):
        if stub.stem not in wanted and not any(w.endswith("." + stub.stem) or
                                               stub.stem.endswith("." + w) for w in wanted):
            stub.unlink()


def setup(app):
    app.connect("builder-inited", _remove_stale_stubs, priority=600)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _escape_types, priority=400)
    app.connect("missing-reference", _resolve_short_names)
