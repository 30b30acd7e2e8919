"""``where = "gender == 'female' and age <= 30"``: choosing a population of raters by their traits.

The expression is pandas ``DataFrame.query`` syntax on the traits table, but only a safe subset is accepted:
comparisons, ``and``/``or``/``not``, ``in``/``not in`` lists, arithmetic, column names and literals. Attribute
access, calls, subscripts and ``@variables`` are refused before pandas sees the text, because an experiment
file may come from someone else and must never run code.
"""
from __future__ import annotations

import ast
import difflib

import pandas as pd

from piaa.errors import InputError


_ALLOWED = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Compare, ast.Eq,
    ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.Mod, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple,
)


class WhereError(InputError):
    """A ``where`` filter is malformed or names something the traits table does not have."""


def check_where(expr: str, columns) -> None:
    """Raise :class:`WhereError` unless ``expr`` is a safe filter over ``columns``."""
    if "@" in expr or "`" in expr:
        raise WhereError(f"where = {expr!r}: '@' and backticks are not supported; use plain column names")
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        pointer = " " * max((exc.offset or 1) - 1, 0) + "^"
        raise WhereError(f"where = {expr!r} is not a valid expression ({exc.msg}):\n  {expr}\n  {pointer}") from None
    cols = [str(c) for c in columns]
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise WhereError(
                f"where = {expr!r}: {type(node).__name__} is not allowed; use comparisons of trait columns with "
                f"literals joined by and/or, e.g. \"gender == 'female' and age <= 30\""
            )
        if isinstance(node, ast.Name) and node.id not in cols and node.id not in ("True", "False"):
            close = difflib.get_close_matches(node.id, cols, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise WhereError(f"where = {expr!r}: unknown trait column {node.id!r}{hint}; columns: {', '.join(cols)}")
    if not isinstance(tree.body, (ast.Compare, ast.BoolOp, ast.UnaryOp)):
        raise WhereError(f"where = {expr!r} must be a condition (a comparison such as age <= 30)")


def filter_users(traits: pd.DataFrame, expr: str, source: str = "") -> pd.DataFrame:
    """The rows of ``traits`` (indexed by user) that satisfy ``expr``; an empty result is an error.

    People whose trait is missing (NaN) never match a comparison, as in pandas.
    """
    check_where(expr, traits.columns)
    try:
        out = traits.query(expr, engine="python")
    except TypeError as exc:
        text_cols = [c for c in traits.columns if not pd.api.types.is_numeric_dtype(traits[c])]
        raise WhereError(
            f"where = {expr!r}{' in ' + source if source else ''}: cannot compare ({exc}); text columns "
            f"({', '.join(map(str, text_cols))}) compare with quoted strings, numeric ones with numbers"
        ) from None
    except Exception as exc:  # pandas raises many types for bad expressions
        raise WhereError(f"where = {expr!r}{' in ' + source if source else ''}: {exc}") from None
    if not isinstance(out, pd.DataFrame):
        raise WhereError(f"where = {expr!r} must be a condition selecting people")
    if out.empty:
        raise WhereError(f"where = {expr!r}{' in ' + source if source else ''} selects nobody "
                         f"(of {len(traits)} people); check the values, e.g. {_value_hint(traits, expr)}")
    return out


def _value_hint(traits: pd.DataFrame, expr: str) -> str:
    try:
        names = [n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)]
    except SyntaxError:
        return ""
    parts = []
    for n in dict.fromkeys(names):
        if n not in traits.columns:
            continue
        col = traits[n]
        if not pd.api.types.is_numeric_dtype(col):
            vals = sorted(map(str, col.dropna().unique()))[:8]
            parts.append(f"{n} takes {vals}")
        else:
            parts.append(f"{n} ranges {col.min():g}..{col.max():g}")
    return "; ".join(parts) or "the trait values"
