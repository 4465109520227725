"""A rollup's `where` (an expression of docs/schema-language.md §4.1) as a DuckDB condition, so the
validator filters the child rows in SQL — its own reading of the expression, not the engine's.

Covers what a filter is written with: column names, numbers, text and booleans, arithmetic, text
joined to a text literal with `+` (SQL's `||`), comparisons (chained too), and/or/not, if-else, and
the functions abs, round, floor, ceil, sqrt, exp, log, min, max and where. Anything else gives None,
and the check says it cannot translate it."""

from __future__ import annotations

import ast

from datagen.validate.context import q

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Mod: "%", ast.Pow: "**"}
_COMPARE = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_FUNCTIONS = {"abs": "abs", "round": "round", "floor": "floor", "ceil": "ceil", "sqrt": "sqrt", "exp": "exp"}
_FUNCTIONS |= {"log": "ln", "min": "least", "max": "greatest"}


class _Untranslatable(Exception):
    pass


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _joins_text(node: ast.expr) -> bool:
    """A `+` that joins text: one side is a text literal or itself such a join."""
    match node:
        case ast.Constant(value=str()):
            return True
        case ast.BinOp(left=left, op=ast.Add(), right=right):
            return _joins_text(left) or _joins_text(right)
    return False


def _sql(node: ast.expr, alias: str) -> str:
    match node:
        case ast.Constant(value=bool() as flag):
            return "TRUE" if flag else "FALSE"
        case ast.Constant(value=int() | float() as x):
            return repr(float(x)) if isinstance(x, float) else str(x)
        case ast.Constant(value=str() as text):
            return _text(text)
        case ast.Name(id=name):
            return f"{alias}.{q(name)}"
        case ast.BinOp(left=left, op=ast.Add(), right=right) if _joins_text(node):
            return f"({_sql(left, alias)} || {_sql(right, alias)})"
        case ast.BinOp(left=left, op=op, right=right) if type(op) in _BINARY:
            lhs, rhs = _sql(left, alias), _sql(right, alias)
            if isinstance(op, ast.Div):
                return f"(CAST({lhs} AS DOUBLE) / {rhs})"
            return f"({lhs} {_BINARY[type(op)]} {rhs})"
        case ast.UnaryOp(op=ast.Not(), operand=x):
            return f"(NOT {_sql(x, alias)})"
        case ast.UnaryOp(op=ast.USub(), operand=x):
            return f"(-{_sql(x, alias)})"
        case ast.UnaryOp(op=ast.UAdd(), operand=x):
            return _sql(x, alias)
        case ast.BoolOp(op=op, values=values):
            joiner = " AND " if isinstance(op, ast.And) else " OR "
            return "(" + joiner.join(_sql(v, alias) for v in values) + ")"
        case ast.Compare(left=left, ops=ops, comparators=rest) if all(type(o) in _COMPARE for o in ops):
            operands = [_sql(left, alias), *(_sql(c, alias) for c in rest)]
            parts = [
                f"{a} {_COMPARE[type(o)]} {b}" for o, a, b in zip(ops, operands, operands[1:], strict=False)
            ]
            return "(" + " AND ".join(parts) + ")"
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return f"(CASE WHEN {_sql(test, alias)} THEN {_sql(body, alias)} ELSE {_sql(orelse, alias)} END)"
        case ast.Call(func=ast.Name(id="where"), args=[test, body, orelse]):
            return f"(CASE WHEN {_sql(test, alias)} THEN {_sql(body, alias)} ELSE {_sql(orelse, alias)} END)"
        case ast.Call(func=ast.Name(id=name), args=args) if name in _FUNCTIONS:
            return f"{_FUNCTIONS[name]}({', '.join(_sql(a, alias) for a in args)})"
    raise _Untranslatable


def sql_condition(code: str, alias: str) -> str | None:
    """The expression as a SQL condition over the columns of `alias` (None when it uses something this
    translation does not cover). A null condition, as in SQL, keeps no row."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
        return _sql(tree.body, alias)
    except (SyntaxError, _Untranslatable, RecursionError):
        return None
