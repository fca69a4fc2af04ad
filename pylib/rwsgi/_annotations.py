"""A second try at compiling source that RustPython 0.6.0's compiler refuses (src/python/patch/
compile.rs calls `compile_again` only after `compile()` failed with the error below).

The difference: a class nested in a class body whose own body holds an annotation inside a
block (`if TYPE_CHECKING: name: Type`, as SQLAlchemy 2.1's ORM has) fails to compile with
`SyntaxError: compiler_make_closure: cannot find '__conditional_annotations__' in parent
vars`; CPython compiles it. Reproducer:

    class A:
        class B:
            if True:
                x: int

Such annotations are rewritten in the syntax tree before compiling it again: one without a
value becomes `pass`, one with a value a plain assignment. The class behaves the same at run
time; what is lost is those names in the nested class's `__annotations__`.
"""

# `ast` is imported on the first retry only: most processes never need it.
ast = None


def _blocks():
    return (
        ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try,
        ast.TryStar, ast.Match,
    )


def _plain(node):
    """The statement without its annotation."""
    if node.value is None:
        replacement = ast.Pass()
    else:
        replacement = ast.Assign(targets=[node.target], value=node.value)
    return ast.copy_location(replacement, node)


def _strip_blocks(statements):
    """Rewrite the annotations found inside blocks of a class body (not in nested scopes)."""
    for statement in statements:
        if not isinstance(statement, _blocks()):
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(statement, field, None)
            if block:
                setattr(statement, field, _rewrite_block(block))
        for handler in getattr(statement, "handlers", ()):
            handler.body = _rewrite_block(handler.body)
        for case in getattr(statement, "cases", ()):
            case.body = _rewrite_block(case.body)


def _rewrite_block(block):
    block = [_plain(s) if isinstance(s, ast.AnnAssign) else s for s in block]
    _strip_blocks(block)
    return block


def _rewrite_nested_classes(node):
    """Every class directly in a class body, at any depth."""
    for child in ast.walk(node):
        if isinstance(child, ast.ClassDef):
            for statement in child.body:
                if isinstance(statement, ast.ClassDef):
                    _strip_blocks(statement.body)


def compile_again(compile, source, filename, mode, *args, **kwargs):
    """`compile(source, filename, mode, ...)` after the rewrite; the original error stands
    when the source cannot be parsed or still does not compile."""
    global ast
    if ast is None:
        import ast
    tree = source if isinstance(source, ast.AST) else ast.parse(source, filename, mode)
    _rewrite_nested_classes(tree)
    return compile(tree, filename, mode, *args, **kwargs)
