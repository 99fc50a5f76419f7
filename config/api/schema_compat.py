"""Schema forms that validators and client generators read alike (issue 18).

drf-spectacular writes a nullable reference as `{"allOf": [{"$ref": ...}], "nullable": true}`.
OpenAPI 3.0.3 says `nullable` only applies next to a `type`, so openapi-core (and other
validators) reject `null` there: every unpaid order (`payment: null`) failed validation. The
form drf-spectacular itself uses for nullable enums, `oneOf` with `NullEnum` (`{"enum":
[null]}`), is read as "the object or null" by openapi-core, openapi-typescript and
openapi-python-client alike."""

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
