"""Paths into a config document (``routes[2].backend.url``): parse, get, set, unset, diff.

Pure functions on dicts and lists; errors are ``ValueError`` with a message
the caller prefixes with the path.
"""


def parse_path(path):
    """``"routes[2].backend.url"`` -> ``["routes", 2, "backend", "url"]``."""
    if not isinstance(path, str) or not path:
        raise ValueError("empty path")
    parts = []
    for seg in path.split("."):
        name = seg
        idx = []
        i = seg.find("[")
        if i >= 0:
            name = seg[:i]
            rest = seg[i:]
            while rest:
                j = rest.find("]")
                if rest[0] != "[" or j < 2 or not rest[1:j].isdigit():
                    raise ValueError("malformed index in %r" % seg)
                idx.append(int(rest[1:j]))
                rest = rest[j + 1:]
        if name:
            for c in name:
                if not (c.isalpha() or c.isdigit() or c == "_"):
                    raise ValueError("bad character %r in %r" % (c, seg))
            parts.append(name)
        elif not idx or not parts:
            raise ValueError("empty segment")
        parts.extend(idx)
    return parts


def format_path(parts):
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        else:
            out += ("." if out else "") + p
    return out


def _step(node, p, create):
    if isinstance(p, int):
        if not isinstance(node, list):
            raise ValueError("not a list")
        if p >= len(node):
            raise ValueError("index %d out of range (%d items)" % (p, len(node)))
        return node[p]
    if not isinstance(node, dict):
        raise ValueError("not an object")
    if p not in node:
        if not create:
            raise ValueError("not set")
        node[p] = {}
    return node[p]


def get(doc, parts):
    node = doc
    for p in parts:
        node = _step(node, p, False)
    return node


def set_value(doc, parts, value):
    """Set ``value`` at ``parts``; missing objects are created, a list index may be its length (append)."""
    if not parts:
        raise ValueError("cannot replace the whole document")
    node = doc
    for k, p in enumerate(parts[:-1]):
        nxt = parts[k + 1]
        if isinstance(p, str) and isinstance(node, dict) and p not in node:
            node[p] = [] if isinstance(nxt, int) else {}
        node = _step(node, p, False)
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise ValueError("not a list")
        if last == len(node):
            node.append(value)
        elif last < len(node):
            node[last] = value
        else:
            raise ValueError("index %d out of range (%d items)" % (last, len(node)))
    else:
        if not isinstance(node, dict):
            raise ValueError("not an object")
        node[last] = value


def unset(doc, parts):
    if not parts:
        raise ValueError("cannot remove the whole document")
    node = get(doc, parts[:-1])
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ValueError("not set")
        node.pop(last)
    else:
        if not isinstance(node, dict) or last not in node:
            raise ValueError("not set")
        del node[last]


def flatten(doc, prefix=(), out=None):
    """Every leaf as (path string, value), in a stable order."""
    if out is None:
        out = []
    if isinstance(doc, dict) and doc:
        for k in sorted(doc):
            flatten(doc[k], prefix + (k,), out)
    elif isinstance(doc, list) and doc:
        for i, v in enumerate(doc):
            flatten(v, prefix + (i,), out)
    elif prefix or not isinstance(doc, (dict, list)):  # an empty document has no leaves
        out.append((format_path(prefix), doc))
    return out


def diff(old, new, show):
    """Lines ``+ path = v``, ``- path``, ``~ path: a -> b`` from old to new; ``show`` renders a value."""
    a = dict(flatten(old))
    b = dict(flatten(new))
    lines = []
    for k in sorted(set(a) | set(b)):
        if k not in b:
            lines.append("- %s" % k)
        elif k not in a:
            lines.append("+ %s = %s" % (k, show(k, b[k])))
        elif a[k] != b[k] or type(a[k]) is not type(b[k]):
            lines.append("~ %s: %s -> %s" % (k, show(k, a[k]), show(k, b[k])))
    return lines
