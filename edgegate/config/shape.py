"""JSON shape: a small, fixed subset of JSON Schema, compiled with the config, checked per message.

Keywords (draft 2020-12 names and meanings): ``type`` (one name or a list:
object, array, string, number, integer, boolean, null), ``properties``,
``required``, ``additionalProperties`` (a boolean only), ``maxProperties``,
``items`` (one schema for every element), ``maxItems``, ``minItems``,
``maxLength``, ``minLength`` (in characters), ``enum`` (of scalars),
``minimum``, ``maximum``. Anything else is a config error naming its path,
so a schema never silently means less than it says. ``compile_shape`` raises
``ValueError(path, message)``; ``Shape.check(value)`` returns None or the
first violation as ``"$.a.b[2]: not a string"`` (names and sizes only, never
a value from the message). Depth is bounded by the schema's own depth.
It lives in ``config`` because compiling is validating; ``policy`` only calls
``check`` on the object it is handed.
"""

_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_KEYWORDS = ("type", "properties", "required", "additionalProperties", "maxProperties", "items", "maxItems",
             "minItems", "maxLength", "minLength", "enum", "minimum", "maximum", "description", "title")
_MAX_SCHEMA_DEPTH = 16


def _is(value, name):
    t = type(value)
    if name == "object":
        return t is dict
    if name == "array":
        return t is list
    if name == "string":
        return t is str
    if name == "integer":
        return t is int or (t is float and value == int(value) and value == value)
    if name == "number":
        return t is int or t is float
    if name == "boolean":
        return t is bool
    return value is None


def _count(v, path, key):
    if type(v) is not int or v < 0:
        raise ValueError(path + "." + key, "must be a non-negative integer")
    return v


class Shape:
    """One compiled schema node."""

    __slots__ = ("types", "props", "required", "extra", "max_props", "items", "max_items", "min_items",
                 "max_len", "min_len", "enum", "minimum", "maximum")

    def check(self, value, where="$"):
        """None if ``value`` fits, else ``"path: what is wrong"``."""
        if self.types is not None:
            for name in self.types:
                if _is(value, name):
                    break
            else:
                return "%s: not %s" % (where, " or ".join(self.types))
        t = type(value)
        if t is dict:
            if self.max_props is not None and len(value) > self.max_props:
                return "%s: more than %d members" % (where, self.max_props)
            for k in self.required:
                if k not in value:
                    return "%s: missing %s" % (where, k)
            props = self.props
            for k in value:
                sub = props.get(k) if props else None
                if sub is None:
                    if not self.extra:
                        return "%s: unexpected member" % where
                    continue
                err = sub.check(value[k], where + "." + k)
                if err:
                    return err
        elif t is list:
            n = len(value)
            if self.max_items is not None and n > self.max_items:
                return "%s: more than %d items" % (where, self.max_items)
            if self.min_items is not None and n < self.min_items:
                return "%s: fewer than %d items" % (where, self.min_items)
            if self.items is not None:
                for i in range(n):
                    err = self.items.check(value[i], "%s[%d]" % (where, i))
                    if err:
                        return err
        elif t is str:
            n = len(value)
            if self.max_len is not None and n > self.max_len:
                return "%s: longer than %d" % (where, self.max_len)
            if self.min_len is not None and n < self.min_len:
                return "%s: shorter than %d" % (where, self.min_len)
        elif (t is int or t is float) and t is not bool:
            if self.minimum is not None and value < self.minimum:
                return "%s: below %s" % (where, self.minimum)
            if self.maximum is not None and value > self.maximum:
                return "%s: above %s" % (where, self.maximum)
        if self.enum is not None:
            for e in self.enum:
                if type(e) is type(value) and e == value:
                    break
            else:
                return "%s: not one of the allowed values" % where
        return None


def compile_shape(d, path="shape", depth=0):
    """A ``Shape`` from the schema dict ``d`` (at config path ``path``)."""
    if type(d) is not dict:
        raise ValueError(path, "must be an object (a JSON Schema subset)")
    if depth > _MAX_SCHEMA_DEPTH:
        raise ValueError(path, "nested deeper than %d" % _MAX_SCHEMA_DEPTH)
    for k in d:
        if k not in _KEYWORDS:
            raise ValueError(path + "." + k, "not a supported keyword (supported: %s)" % ", ".join(_KEYWORDS))
    s = Shape()
    t = d.get("type")
    if t is None:
        s.types = None
    else:
        names = [t] if type(t) is str else t
        if type(names) is not list or not names or any(n not in _TYPES for n in names):
            raise ValueError(path + ".type", "must be one of %s, or a list of them" % ", ".join(_TYPES))
        s.types = tuple(names)
    props = d.get("properties")
    s.props = None
    if props is not None:
        if type(props) is not dict:
            raise ValueError(path + ".properties", "must be an object")
        s.props = {k: compile_shape(v, path + ".properties." + k, depth + 1) for k, v in props.items()}
    req = d.get("required", [])
    if type(req) is not list or any(type(k) is not str for k in req):
        raise ValueError(path + ".required", "must be a list of names")
    s.required = tuple(req)
    extra = d.get("additionalProperties", True)
    if type(extra) is not bool:
        raise ValueError(path + ".additionalProperties", "must be true or false (schemas are not supported here)")
    s.extra = extra
    s.max_props = _count(d["maxProperties"], path, "maxProperties") if "maxProperties" in d else None
    s.items = compile_shape(d["items"], path + ".items", depth + 1) if "items" in d else None
    s.max_items = _count(d["maxItems"], path, "maxItems") if "maxItems" in d else None
    s.min_items = _count(d["minItems"], path, "minItems") if "minItems" in d else None
    s.max_len = _count(d["maxLength"], path, "maxLength") if "maxLength" in d else None
    s.min_len = _count(d["minLength"], path, "minLength") if "minLength" in d else None
    enum = d.get("enum")
    if enum is not None:
        if type(enum) is not list or not enum or any(type(e) in (dict, list) for e in enum):
            raise ValueError(path + ".enum", "must be a non-empty list of strings, numbers, booleans or null")
        enum = tuple(enum)
    s.enum = enum
    for k in ("minimum", "maximum"):
        v = d.get(k)
        if v is not None and (type(v) not in (int, float)):
            raise ValueError(path + "." + k, "must be a number")
        setattr(s, k, v)
    return s
