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
