"""Code shape the project holds itself to: no function over 80 lines, no public function with over 8 loose parameters."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "annalign"
MAX_LINES = 80
MAX_PARAMS = 8


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """(where, node, public) for every function and method in src/annalign."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        stack: list[tuple[ast.AST, bool]] = [(tree, True)]
        while stack:
            node, public_scope = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    public = public_scope and not child.name.startswith("_") and not path.name.startswith("_")
                    found.append((f"{path.relative_to(SRC.parent)}:{child.lineno} {child.name}", child, public))
                    stack.append((child, False))  # nested functions are private
                elif isinstance(child, ast.ClassDef):
                    stack.append((child, public_scope and not child.name.startswith("_")))
    return found


def _loose_parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Parameters a caller can pass, not counting self/cls or *args/**kwargs."""
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return len([n for n in names if n not in ("self", "cls")])


def test_the_shape_checks_see_every_function():
    functions = _functions()
    assert len(functions) > 300  # the walk reaches methods and nested functions, not only module level
    assert any(name.endswith(" __getattr__") for name, _node, _public in functions)


def test_no_function_is_longer_than_80_lines():
    long = [f"{where} ({node.end_lineno - node.lineno + 1} lines)" for where, node, _ in _functions()
            if node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert not long, long


def test_no_public_function_takes_more_than_8_loose_parameters():
    wide = [f"{where} ({_loose_parameters(node)} parameters)" for where, node, public in _functions()
            if public and _loose_parameters(node) > MAX_PARAMS]
    assert not wide, wide
