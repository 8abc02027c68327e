"""Version updates from the package index: which newer release a recipe takes (``select``), the
recipe edit (``recipe_edit``), what the pull request says (``report``), and the index client
that asks once per project (``index``). Everything but ``index`` is pure."""
