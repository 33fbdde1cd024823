"""The scheduler: ``<scheduler_request>`` in, ``<scheduler_reply>`` out.

request.py parses leniently; auth.py finds user and host; results.py
handles reported results; send.py chooses jobs from the feeder's cache;
reply.py writes the reply; app.py is the WSGI application behind
``cgi-bin/cgi`` and ``cgi-bin/fcgi``.
"""

try:
    # The random module's generator without the module: importing random costs
    # a CGI scheduler a fifth of its start-up; its C core gives the same numbers.
    from _random import Random
except ImportError:          # a Python without the accelerator
    from random import Random
