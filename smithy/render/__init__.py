"""The pure core: (recipe, config, xbuildenv, templates) -> {path: bytes}.

``context`` makes what templates see, ``engine`` renders them, ``manifest`` records the result.
Submodules are imported where used, so that a no-op rerender never loads jinja2.
"""
