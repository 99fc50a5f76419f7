"""Reads on the hot path with the SQL written once.

The ORM compiles a query afresh on every call: for `User.objects.get(pk=...)` on every
authenticated request, or a cart's lines, that took longer in Python than the database
took to answer. Both readers here compile once per database connection (Django's are one
per thread, so nothing compiled is shared between threads) and language (modeltranslation
may rewrite a lookup by the active language), then only execute, apply the value
converters the ORM applies (the backend's, e.g. SQLite's booleans and datetimes, and the
fields' own) and build instances with `Model.from_db`: the same instances the ORM returns.

- `PkReader(Model).get(pk)`: every concrete column of the row with that primary key.
- `PreparedQuery(Model, build)`: `build(value)` is a QuerySet of model instances (select_related
  allowed; no prefetch_related, annotations or known related objects) where `value` is one
  parameter of the SQL; `.list(value)` is `list(build(value))`."""

import weakref
from collections.abc import Callable

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.utils.translation import get_language


def _convert(row, converters: list, connection) -> list:
    row = list(row)
    for position, found, expression in converters:
        value = row[position]
        for converter in found:
            value = converter(value, expression, connection)
        row[position] = value
    return row


class _PerConnection:
    """What was compiled, per connection (held weakly: a thread's connection goes with its
    thread, e.g. under runserver) and language."""

    def __init__(self):
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, connection, compile_for: Callable):
        per_language = self._compiled.get(connection)
        if per_language is None:
            per_language = self._compiled[connection] = {}
        language = get_language()
        entry = per_language.get(language)
        if entry is None:
            entry = per_language[language] = compile_for(connection)
        return entry


class PkReader:
    def __init__(self, model: type[Model]):
        self.model = model
        self._per_connection = _PerConnection()

    def _compile(self, connection) -> tuple[str, list[str], list]:
        meta = self.model._meta
        fields = list(meta.concrete_fields)
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        columns = ", ".join(f"{table}.{quote(field.column)}" for field in fields)
        # bandit B608: names are the model's, quoted; the key goes as a parameter.
        sql = f"SELECT {columns} FROM {table} WHERE {table}.{quote(meta.pk.column)} = %s"  # nosec B608
        converters = []
        for position, field in enumerate(fields):
            col = field.get_col(meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                converters.append((position, found, col))
        return sql, [field.attname for field in fields], converters

    def get(self, pk) -> Model | None:
        """The row with primary key `pk` as an instance, or None."""
        db = router.db_for_read(self.model)
        connection = connections[db]
        sql, attnames, converters = self._per_connection.get(connection, self._compile)
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = _convert(row, converters, connection)
        return self.model.from_db(db, attnames, row)


class PreparedQuery:
    def __init__(self, model: type[Model], build: Callable[[object], QuerySet], *, sentinel=-7_360_415_929):
        """`sentinel` stands for the value while compiling (an int or a str no real value
        equals): it must come out as exactly one parameter of the SQL."""
        self.model = model
        self.build = build
        self.sentinel = sentinel
        self._per_connection = _PerConnection()

    def _compile(self, connection) -> tuple:
        queryset = self.build(self.sentinel)
        if (
            queryset._prefetch_related_lookups
            or queryset._known_related_objects
            or queryset.query.annotations
        ):
            raise ValueError("PreparedQuery reads plain rows with select_related only")
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        at = [
            i
            for i, param in enumerate(params)
            if type(param) is type(self.sentinel) and param == self.sentinel
        ]
        if len(at) != 1:
            raise ValueError(f"the value must be one parameter of the SQL, found {len(at)}")
        select, klass_info = compiler.select, compiler.klass_info
        fields = [s[0] for s in select[0 : compiler.col_count]]
        converters = [(pos, found, expr) for pos, (found, expr) in compiler.get_converters(fields).items()]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        return sql, list(params), at[0], converters, klass_info, select, start, end, init_list

    def list(self, value) -> list[Model]:
        db = router.db_for_read(self.model)
        connection = connections[db]
        sql, params, at, converters, klass_info, select, start, end, init_list = self._per_connection.get(
            connection, self._compile
        )
        params = params.copy()
        params[at] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        model = klass_info["model"]  # self.model, or its concrete model for a proxy
        populators = get_related_populators(klass_info, select, db)
        found = []
        for row in rows:
            if converters:
                row = _convert(row, converters, connection)
            obj = model.from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            found.append(obj)
        return found
