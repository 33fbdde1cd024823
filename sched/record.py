"""A plain record class: defaults as class attributes, keywords to set them.

For the per-request objects of the CGI programs, where importing the
``dataclasses`` module (and ``inspect`` behind it) would cost more than the
request itself.
"""


class Record:
    def __init__(self, **values):
        for name, value in values.items():
            if not hasattr(self, name):
                raise TypeError("%s has no field %r" % (type(self).__name__, name))
            setattr(self, name, value)


def tuple_type(name, fields):
    """A tuple class with named fields, like collections.namedtuple (``_make``,
    ``_fields``, attribute access by name), without importing ``collections``
    (and ``functools``, ``heapq`` ... behind it) into a CGI program."""
    from _operator import itemgetter
    namespace = {name: property(itemgetter(i)) for i, name in enumerate(fields)}
    namespace.update(__slots__=(), _fields=tuple(fields), _make=classmethod(tuple.__new__),
                     __repr__=lambda self: "%s(%s)" % (name, ", ".join(
                         "%s=%r" % pair for pair in zip(fields, self))))
    return type(name, (tuple,), namespace)
