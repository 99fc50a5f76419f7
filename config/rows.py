"""Rows of a model by its primary key on the hot path, with the SQL written once.

The ORM compiles a query afresh on every call: for `User.objects.get(pk=...)` on every
authenticated request that took longer in Python than the database took to answer. A
`PkReader` writes the SELECT of every concrete column once per database vendor and turns
the row into an instance with `Model.from_db` after the same value converters the ORM
applies (the backend's, e.g. SQLite's booleans and datetimes, and the fields' own), so the
instance is the one `Model.objects.get(pk=...)` returns."""

from django.db import connections, router
from django.db.models import Model


class PkReader:
    def __init__(self, model: type[Model]):
        self.model = model
        self._compiled: dict[str, tuple[str, list[str], list[tuple[int, list, object]]]] = {}

    def _compile(self, connection) -> tuple[str, list[str], list[tuple[int, list, object]]]:
        meta = self.model._meta
        fields = list(meta.concrete_fields)
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        columns = ", ".join(f"{table}.{quote(field.column)}" for field in fields)
        sql = f"SELECT {columns} FROM {table} WHERE {table}.{quote(meta.pk.column)} = %s"
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
        compiled = self._compiled.get(connection.vendor)
        if compiled is None:
            compiled = self._compiled[connection.vendor] = self._compile(connection)
        sql, attnames, converters = compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        if converters:
            row = list(row)
            for position, found, col in converters:
                value = row[position]
                for converter in found:
                    value = converter(value, col, connection)
                row[position] = value
        return self.model.from_db(db, attnames, row)
