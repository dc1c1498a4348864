"""The demo app for gunicorn's ASGI workers (uvicorn): the same app as wsgi_app.

Importing wsgi_app loads the deployed "code" with the same knobs (APP_DIR/VERSION:
"broken", "slow:N", "slowbroken:N"; a SICK file newer than the load answers 500),
so a slow or failing deploy behaves alike under every worker class.
"""
import os

from wsgi_app import VERSION, is_sick


async def application(scope, receive, send):
    if scope['type'] == 'lifespan':
        while True:
            message = await receive()
            if message['type'] == 'lifespan.startup':
                await send({'type': 'lifespan.startup.complete'})
            elif message['type'] == 'lifespan.shutdown':
                await send({'type': 'lifespan.shutdown.complete'})
                return
    if scope['type'] != 'http':
        return
    if is_sick():
        status, body = 500, b'sick\n'
    else:
        # the worker's parent is the master: each answer names its generation
        status, body = 200, ('%s %d\n' % (VERSION, os.getppid())).encode()
    await send({'type': 'http.response.start', 'status': status,
                'headers': [(b'content-type', b'text/plain')]})
    await send({'type': 'http.response.body', 'body': body})
