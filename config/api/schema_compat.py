"""Schema forms that validators and client generators read alike (issue 18).

drf-spectacular writes a nullable reference as `{"allOf": [{"$ref": ...}], "nullable": true}`.
OpenAPI 3.0.3 says `nullable` only applies next to a `type`, so openapi-core (and other
validators) reject `null` there: every unpaid order (`payment: null`) failed validation. The
form drf-spectacular itself uses for nullable enums, `oneOf` with `NullEnum` (`{"enum":
[null]}`), is read as "the object or null" by openapi-core, openapi-typescript and
openapi-python-client alike."""

import re

NULL_ENUM = "NullEnum"
NULL_REF = {"$ref": f"#/components/schemas/{NULL_ENUM}"}


def nullable_references_as_one_of(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: `allOf: [ref]` + `nullable` becomes `oneOf: [ref, NullEnum]`
    (keeping `nullable` and the other keywords: description, readOnly)."""
    found = False
    pending: list = [result.get("components", {}).get("schemas", {}), result.get("paths", {})]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        members = node.get("allOf")
        if node.get("nullable") is True and isinstance(members, list) and len(members) == 1:
            del node["allOf"]
            node["oneOf"] = [members[0], dict(NULL_REF)]
            found = True
        pending.extend(node.values())
    if found:
        result["components"]["schemas"].setdefault(NULL_ENUM, {"enum": [None]})
    return result


# --- per operation (called by FoodiesAutoSchema.get_operation) ------------------------------

IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "An ETag from an earlier answer: 304 with no body while it is current.",
}
ETAG = {"description": "The answer's version, for If-None-Match.", "schema": {"type": "string"}}
CACHE_CONTROL = {
    "description": "Anonymous menu reads: `public, max-age=CATALOG_CACHE_MAX_AGE`.",
    "schema": {"type": "string"},
}
PAUSED_UNTIL = {
    "description": "While the kitchen has paused new orders (busy mode): when the pause ends, "
    "ISO 8601 in the shop's zone (checkout answers 409 `shop_paused` until then). Absent "
    "while orders are taken. Sent outside the cached body, on 304s too.",
    "schema": {"type": "string", "format": "date-time"},
}
NOT_MODIFIED = {
    "description": "Not modified: the If-None-Match ETag is current. No body.",
    "headers": {"ETag": ETAG},
}


def document_conditional_get(operation: dict, *, public_cache: bool) -> None:
    """A GET answered with a JSON body carries an ETag (ConditionalGetMiddleware, or the
    catalog cache's own) and answers 304 to a matching If-None-Match; the catalog's reads
    carry Cache-Control too. Streamed files (PDFs) have neither."""
    ok = operation["responses"].get("200", {})
    if "application/json" not in ok.get("content", {}):
        return
    headers = ok.setdefault("headers", {})
    headers["ETag"] = ETAG
    if public_cache:
        headers["Cache-Control"] = CACHE_CONTROL
        headers["X-Shop-Paused-Until"] = PAUSED_UNTIL
    parameters = operation.setdefault("parameters", [])
    if not any(p["in"] == "header" and p["name"] == "If-None-Match" for p in parameters):
        parameters.append(dict(IF_NONE_MATCH))
    operation["responses"]["304"] = (
        {**NOT_MODIFIED, "headers": {**NOT_MODIFIED["headers"], "X-Shop-Paused-Until": PAUSED_UNTIL}}
        if public_cache
        else NOT_MODIFIED
    )


DIGITS = re.compile(r"^\^\[0-9\]\{1,(\d+)\}\$$")


def integer_path_ids(operation: dict) -> None:
    """A path parameter of ASCII digits only (a row id: `lookup_value_regex = "[0-9]{1,18}"`)
    is an integer, within what the pattern lets through."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        match = DIGITS.match(schema.get("pattern", ""))
        if parameter["in"] == "path" and schema.get("type") == "string" and match:
            parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": 10 ** int(match.group(1)) - 1}
