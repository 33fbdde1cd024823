"""The scheduler: ``<scheduler_request>`` in, ``<scheduler_reply>`` out.

request.py parses leniently; auth.py finds user and host; results.py
handles reported results; send.py chooses jobs from the feeder's cache;
reply.py writes the reply; app.py is the WSGI application behind
``cgi-bin/cgi`` and ``cgi-bin/fcgi``.
"""
