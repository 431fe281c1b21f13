"""JSON shape: a small, fixed subset of JSON Schema, compiled with the config, checked per message.

Keywords (draft 2020-12 names and meanings): ``type`` (one name or a list:
object, array, string, number, integer, boolean, null), ``properties``,
``required``, ``additionalProperties`` (a boolean only), ``maxProperties``,
``items`` (one schema for every element), ``maxItems``, ``minItems``,
``maxLength``, ``minLength`` (in characters), ``enum`` (of scalars),
``minimum``, ``maximum``. Anything else is a config error naming its path,
so a schema never silently means less than it says. ``compile_shape`` raises
``ValueError(path, message)``; ``Shape.check(value)`` returns None or the
first violation as ``"$.a.b[2]: not string"`` (the path is built only then) (names and sizes only, never
a value from the message). Depth is bounded by the schema's own depth.
It lives in ``config`` because compiling is validating; ``policy`` only calls
``check`` on the object it is handed.
"""

_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_KEYWORDS = ("type", "properties", "required", "additionalProperties", "maxProperties", "items", "maxItems",
             "minItems", "maxLength", "minLength", "enum", "minimum", "maximum", "description", "title")
_MAX_SCHEMA_DEPTH = 16


_PYTYPES = {"object": (dict,), "array": (list,), "string": (str,), "number": (int, float), "integer": (int,),
            "boolean": (bool,), "null": (type(None),)}


def _finite(value):
    return value - value == 0  # false for inf and nan, on every runtime


def _integral(value):
    """A float JSON Schema counts as an integer (1.0), never inf or nan."""
    return _finite(value) and value == int(value)


def _count(v, path, key):
    if type(v) is not int or v < 0:
        raise ValueError(path + "." + key, "must be a non-negative integer")
    return v


class Shape:
    """One compiled schema node."""

    __slots__ = ("types", "pytypes", "int_floats", "props", "required", "extra", "max_props", "items",
                 "max_items", "min_items", "max_len", "min_len", "enum", "minimum", "maximum")

    def check(self, value):
        """None if ``value`` fits, else ``"path: what is wrong"``."""
        err = self._check(value)
        if err is None:
            return None
        msg, where = err  # where: path parts, innermost first
        where.append("$")
        where.reverse()
        return "%s: %s" % ("".join(where), msg)

    def _check(self, value):
        t = type(value)
        if self.pytypes is not None and t not in self.pytypes and \
                not (t is float and self.int_floats and _integral(value)):
            return "not " + " or ".join(self.types), []
        if t is dict:
            if self.max_props is not None and len(value) > self.max_props:
                return "more than %d members" % self.max_props, []
            for k in self.required:
                if k not in value:
                    return "missing " + k, []
            props = self.props
            for k in value:
                sub = props.get(k) if props is not None else None
                if sub is None:
                    if not self.extra:
                        return "unexpected member", []
                    continue
                err = sub._check(value[k])
                if err is not None:
                    err[1].append("." + k)
                    return err
        elif t is list:
            n = len(value)
            if self.max_items is not None and n > self.max_items:
                return "more than %d items" % self.max_items, []
            if self.min_items is not None and n < self.min_items:
                return "fewer than %d items" % self.min_items, []
            sub = self.items
            if sub is not None:
                for i in range(n):
                    err = sub._check(value[i])
                    if err is not None:
                        err[1].append("[%d]" % i)
                        return err
        elif t is str:
            n = len(value)
            if self.max_len is not None and n > self.max_len:
                return "longer than %d" % self.max_len, []
            if self.min_len is not None and n < self.min_len:
                return "shorter than %d" % self.min_len, []
        elif t is int or t is float:
            if t is float and not _finite(value):
                return "not a finite number", []
            if self.minimum is not None and value < self.minimum:
                return "below %s" % (self.minimum,), []
            if self.maximum is not None and value > self.maximum:
                return "above %s" % (self.maximum,), []
        if self.enum is not None:
            num = t is int or t is float
            for e in self.enum:
                te = type(e)
                if (te is t or (num and (te is int or te is float))) and e == value:
                    break
            else:
                return "not one of the allowed values", []
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
    s.int_floats = False
    if t is None:
        s.types = s.pytypes = None
    else:
        names = [t] if type(t) is str else t
        if type(names) is not list or not names or any(n not in _TYPES for n in names):
            raise ValueError(path + ".type", "must be one of %s, or a list of them" % ", ".join(_TYPES))
        s.types = tuple(names)
        pytypes = ()
        for n in names:
            pytypes += _PYTYPES[n]
        s.pytypes = pytypes
        s.int_floats = "integer" in names
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
