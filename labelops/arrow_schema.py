"""Arrow schemas made from the pydantic models, so each table has one schema source.

A table's columns are its model's fields, in their order; each column's type follows from the
field's annotation:

========================  ==============================
annotation                Arrow type
========================  ==============================
``str``, ``Literal[...]`` ``string``
``int`` / ``float``       ``int64`` / ``float64``
``bool``                  ``bool``
``datetime``              ``timestamp[us, tz=UTC]``
``list[str]``             ``list<string>``
``dict[str, str]``        ``map<string, string>``
========================  ==============================

``X | None`` and ``Annotated[X, ...]`` are read as ``X``. Which columns may hold nulls is the
table's decision, not the model's (a label's ``description`` is required of a new label, yet the
table has always allowed a null there), so it is given by name: ``not_null``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Collection
from datetime import datetime
from typing import Annotated, Any, Literal, Union

import pyarrow as pa
from pydantic import BaseModel

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us", tz="UTC"),
}


def arrow_type(annotation: Any) -> pa.DataType:
    """The Arrow type of one field annotation (see the module's table); ``TypeError`` for others."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return arrow_type(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        kinds = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(kinds) == 1:
            return arrow_type(kinds[0])
    elif origin is Literal:
        if all(isinstance(value, str) for value in typing.get_args(annotation)):
            return pa.string()
    elif origin is list:
        return pa.list_(arrow_type(typing.get_args(annotation)[0]))
    elif origin is dict:
        key, value = typing.get_args(annotation)
        return pa.map_(arrow_type(key), arrow_type(value))
    elif annotation in _SCALARS:
        return _SCALARS[annotation]
    raise TypeError(f"no Arrow type for {annotation!r}")


def arrow_schema(model: type[BaseModel], not_null: Collection[str] = ()) -> pa.Schema:
    """The table schema of ``model``: a column per field, in order; ``not_null`` columns refuse nulls."""
    unknown = set(not_null) - set(model.model_fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
    hints = typing.get_type_hints(model, include_extras=True)
    return pa.schema([pa.field(name, arrow_type(hints[name]), nullable=name not in not_null)
                      for name in model.model_fields])
